// `lockwarden update --latest`: moving a package.json range across majors, written back in the
// file's own indentation and line endings, so the diff shows only the ranges that moved.
import semver from 'semver';

export const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/**
 * The range to write for `version` in place of `current`, keeping the user's style: `^1.2.0` →
 * `^2.0.1`, `~1.2.0` → `~2.0.1`, `1.2.0` → `2.0.1`; anything else (`>=1 <3`, `1.x`) becomes `^`.
 * Undefined when `current` already allows `version` or is not a plain registry range.
 */
export function movedRange(current: string, version: string): string | undefined {
  const trimmed = current.trim();
  if (semver.validRange(trimmed) === null) return undefined; // tags, URLs, aliases: left alone
  if (semver.satisfies(version, trimmed, { includePrerelease: false })) return undefined;
  if (!semver.gtr(version, trimmed)) return undefined; // never move a range down
  if (/^\^\d/.test(trimmed)) return `^${version}`;
  if (/^~\d/.test(trimmed)) return `~${version}`;
  if (semver.valid(trimmed)) return version;
  return `^${version}`;
}

/** Applies `changes` (name → new range) to a package.json text, keeping its formatting. */
export function rewriteManifestText(text: string, changes: ReadonlyMap<string, string>): string {
  const doc = JSON.parse(text) as Record<string, unknown>;
  for (const field of DEPENDENCY_FIELDS) {
    const deps = doc[field];
    if (deps === null || typeof deps !== 'object') continue;
    for (const [name, range] of changes) {
      if (Object.hasOwn(deps, name)) (deps as Record<string, string>)[name] = range;
    }
  }
  const indent = /^[ \t]+(?=")/m.exec(text)?.[0] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const body = JSON.stringify(doc, null, indent);
  return `${eol === '\n' ? body : body.replace(/\n/g, eol)}${/\r?\n$/.test(text) ? eol : ''}`;
}
