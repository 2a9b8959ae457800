// What the lockfile readers may read beside the lockfile: package.json files, from the
// project directory or (for a pull request's base commit) from wherever the caller has them.
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LockwardenError } from '../errors.js';
import type { LockfileLocation } from './lockfile-inventory.js';

export interface ProjectFiles {
  /** A file's text by its path relative to the lockfile's directory (posix), or undefined. */
  read(relativePath: string): Promise<string | undefined>;
  /** Workspace folders the root package.json's `workspaces` globs match, when they can be listed. */
  workspaces?(manifest: Record<string, unknown>): Promise<string[]>;
}

/** Everything a format reader needs, whatever the format. */
export interface FormatInput {
  text: string;
  /** What `LockfileInventory.file` reports. */
  file: string;
  /** The lockfile as named in locations and messages. */
  display: string;
  files: ProjectFiles;
  /** Root name when neither package.json nor the lockfile names the project. */
  fallbackRoot: string;
}

/** An importer's (project's, workspace's) dependency fields and what each makes its edges. */
export const IMPORTER_FIELDS = [
  ['dependencies', {}],
  ['devDependencies', { dev: true }],
  ['optionalDependencies', { optional: true }],
] as const;

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export function directoryFiles(dir: string): ProjectFiles {
  return {
    async read(relativePath) {
      const file = path.resolve(dir, relativePath);
      // Only files inside the project: a workspace glob, a `..` in a lockfile's importer key or a
      // symbolic link (a pull request's package.json linked to /etc/passwd) must not read elsewhere.
      if (!isInside(dir, file)) return undefined;
      try {
        const [root, real] = await Promise.all([realpath(dir), realpath(file)]);
        if (!isInside(root, real)) return undefined;
        const text = await readFile(real, 'utf8');
        return text.length > MAX_MANIFEST_BYTES ? undefined : text;
      } catch {
        return undefined;
      }
    },
    async workspaces(manifest) {
      const { default: mapWorkspaces } = await import('@npmcli/map-workspaces');
      try {
        const found: Map<string, string> = await mapWorkspaces({ cwd: dir, pkg: manifest });
        return [...found.values()]
          .map((folder) => path.relative(dir, folder).split(path.sep).join('/'))
          .filter((folder) => folder !== '' && !folder.startsWith('..'));
      } catch {
        return [];
      }
    },
  };
}

/** A file's text, or undefined when it cannot be read (absent is not an error here). */
export async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Just the root package.json (the base side of a pull request). */
/** The root package.json and the workspaces' (by folder) as text: the base side of a pull request. */
export function textFiles(
  packageJsonText: string | undefined,
  workspaceManifests: ReadonlyMap<string, string> = new Map(),
): ProjectFiles {
  return {
    async read(relativePath) {
      if (relativePath === 'package.json') return packageJsonText;
      const folder = path.posix.dirname(path.posix.normalize(relativePath));
      return path.posix.basename(relativePath) === 'package.json'
        ? workspaceManifests.get(folder)
        : undefined;
    },
    async workspaces() {
      return [...workspaceManifests.keys()];
    },
  };
}

/** A package.json as an object; undefined when absent, a warning when it is not JSON. */
export async function readManifest(
  files: ProjectFiles,
  relativePath: string,
  warnings: string[],
  display = relativePath,
): Promise<Record<string, unknown> | undefined> {
  const text = await files.read(relativePath);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
    warnings.push(`${display}: not a JSON object; ignored`);
  } catch (err) {
    // JSON.parse quotes the text it stopped at: keep the file's content out of the message.
    const reason = (err as Error).message.replace(/"[^"]*"(\.\.\.)?/g, '…');
    warnings.push(`${display}: invalid JSON (${reason}); ignored`);
  }
  return undefined;
}

/** `dependencies`-like field as name → spec, ignoring anything that is not a string. */
export function dependencyMap(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [name, spec] of Object.entries(value)) {
    if (typeof spec === 'string') out.set(name, spec);
  }
  return out;
}

export function lockfileError(display: string, message: string, cause?: unknown): LockwardenError {
  return new LockwardenError(
    'ELOCKFILE',
    `${display}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

export function location(display: string, line: number, key: string): LockfileLocation {
  return { file: display, line, key };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `@scope/name@1.0.0` → [`@scope/name`, `1.0.0`]; the `@` at 0 belongs to the scope. */
export function splitIdent(ident: string): [string, string] {
  const at = ident.indexOf('@', 1);
  return at === -1 ? [ident, ''] : [ident.slice(0, at), ident.slice(at + 1)];
}

/** Same as splitIdent, but at the last `@` (pnpm keys whose name part never holds one). */
export function splitLastAt(ident: string): [string, string] {
  const at = ident.lastIndexOf('@');
  return at <= 0 ? [ident, ''] : [ident.slice(0, at), ident.slice(at + 1)];
}

/** An alias (`*name`) where a YAML value begins. */
const YAML_ALIAS = /(?:^|[\s[{,])\*[A-Za-z0-9_.-]/m;

/**
 * pnpm and yarn Berry never write YAML aliases, and each alias in a hostile lockfile could make
 * the readers walk a whole map again: refused, naming the line.
 */
export function refuseYamlAliases(input: Pick<FormatInput, 'text' | 'display'>): void {
  const at = input.text.search(YAML_ALIAS);
  if (at === -1) return;
  const line = input.text.slice(0, at + 1).split('\n').length;
  throw lockfileError(
    input.display,
    `YAML alias at line ${line}: lockfiles have none; refusing to expand it`,
  );
}
