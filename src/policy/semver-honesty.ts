// semver-honesty: a minor or patch release must not break its users. Compares the public interface
// of two versions (what package.json declares here; the declarations' exports arrive as changes
// from the TypeScript comparison) and turns every breaking change into a finding. Pure.
import semver from 'semver';
import type { PackageInterface } from './package-interface.js';
import type { Finding, Policy } from './types.js';

export type InterfaceChangeKind =
  | 'export-removed'
  | 'condition-removed'
  | 'field-removed'
  | 'field-changed'
  | 'bin-removed'
  | 'engines-narrowed'
  | 'peer-narrowed'
  | 'peer-added'
  | 'declaration-removed'
  | 'parameter-required'
  | 'parameter-removed'
  | 'property-removed'
  | 'property-required'
  | 'type-narrowed';

export interface InterfaceChange {
  kind: InterfaceChangeKind;
  /** What users import (`lib-x/utils`), or the package.json field for manifest changes. */
  entry: string;
  /** The name concerned: an export, a condition, a field, a peer. */
  subject: string;
  /** Where it was seen: `types: dist/utils.d.ts`, `dist/index.js`. */
  where?: string;
  /** Old and new values where that helps (`>=14` → `>=18`). */
  from?: string;
  to?: string;
}

export type BumpKind = 'major' | 'minor' | 'patch' | 'prerelease' | 'none';

/**
 * The kind of release `from → to` claims to be, in semver's own terms: below 1.0.0 the minor
 * (0.x) or patch (0.0.x) digit is the one that may break.
 */
export function classifyBump(from: string, to: string): BumpKind {
  const a = semver.parse(from, true);
  const b = semver.parse(to, true);
  if (!a || !b || semver.lte(b, a)) return 'none';
  if (b.prerelease.length > 0) return 'prerelease';
  if (a.major !== b.major) return 'major';
  if (a.major === 0 && a.minor !== b.minor) return 'major';
  if (a.major === 0 && a.minor === 0 && a.patch !== b.patch) return 'major';
  return a.minor !== b.minor ? 'minor' : 'patch';
}

const FIELDS = ['main', 'module', 'types'] as const;

/** Breaking changes visible in package.json alone. */
export function compareManifestInterfaces(
  before: PackageInterface,
  after: PackageInterface,
): InterfaceChange[] {
  const out: InterfaceChange[] = [];
  const name = before.name || after.name;
  if (before.exports) {
    const next = after.exports;
    for (const [subpath, conds] of Object.entries(before.exports)) {
      const entry = subpath === '.' ? name : `${name}/${subpath.replace(/^\.\//, '')}`;
      // Without an exports map every file is importable again: nothing removed.
      if (!next) break;
      const nextConds = next[subpath];
      if (!nextConds) {
        out.push({ kind: 'export-removed', entry, subject: subpath, where: 'exports' });
        continue;
      }
      for (const cond of Object.keys(conds)) {
        if (!Object.hasOwn(nextConds, cond))
          out.push({ kind: 'condition-removed', entry, subject: cond, where: `exports["${subpath}"]` });
      }
    }
  } else if (after.exports) {
    // A new exports map closes every deep import not listed in it.
    out.push({
      kind: 'field-changed',
      entry: name,
      subject: 'exports',
      from: '(none)',
      to: 'an exports map',
    });
  }
  for (const field of FIELDS) {
    const was = before[field];
    const now = after[field];
    if (was === undefined || was === now) continue;
    if (now === undefined) out.push({ kind: 'field-removed', entry: name, subject: field, from: was });
    else out.push({ kind: 'field-changed', entry: name, subject: field, from: was, to: now });
  }
  for (const bin of Object.keys(before.bin)) {
    if (!Object.hasOwn(after.bin, bin)) out.push({ kind: 'bin-removed', entry: name, subject: bin });
  }
  const narrowed = (was: string | undefined, now: string | undefined): boolean => {
    if (now === undefined) return false;
    if (was === undefined) return true;
    try {
      return !semver.subset(was, now, { includePrerelease: true });
    } catch {
      return was !== now;
    }
  };
  if (narrowed(before.enginesNode, after.enginesNode)) {
    out.push({
      kind: 'engines-narrowed',
      entry: name,
      subject: 'engines.node',
      from: before.enginesNode ?? '(any)',
      to: after.enginesNode!,
    });
  }
  for (const [peer, range] of Object.entries(after.peerDependencies)) {
    const was = before.peerDependencies[peer];
    if (was === undefined) {
      if (!after.optionalPeers.includes(peer))
        out.push({ kind: 'peer-added', entry: name, subject: peer, to: range });
    } else if (narrowed(was, range)) {
      out.push({ kind: 'peer-narrowed', entry: name, subject: peer, from: was, to: range });
    }
  }
  return out;
}

/** `removes export parseOptions from "lib-x/utils" (types: dist/utils.d.ts)`. */
export function describeChange(c: InterfaceChange): string {
  const where = c.where ? ` (${c.where})` : '';
  const fromTo = `${c.from ?? ''} → ${c.to ?? ''}`;
  switch (c.kind) {
    case 'export-removed':
      return `removes export ${c.subject === '.' ? '"."' : JSON.stringify(c.subject)} from its exports map`;
    case 'condition-removed':
      return `removes the "${c.subject}" condition of ${c.where ?? 'exports'}`;
    case 'field-removed':
      return `removes "${c.subject}" (was ${c.from})`;
    case 'field-changed':
      return `changes "${c.subject}" ${fromTo}`;
    case 'bin-removed':
      return `removes the "${c.subject}" command (bin)`;
    case 'engines-narrowed':
      return `narrows engines.node ${fromTo}`;
    case 'peer-narrowed':
      return `narrows peer dependency ${c.subject} ${fromTo}`;
    case 'peer-added':
      return `adds required peer dependency ${c.subject}@${c.to}`;
    case 'declaration-removed':
      return `removes export ${c.subject} from "${c.entry}"${where}`;
    case 'parameter-required':
      return `adds a required parameter to ${c.subject} in "${c.entry}"${where}`;
    case 'parameter-removed':
      return `removes a parameter of ${c.subject} in "${c.entry}"${where}`;
    case 'property-removed':
      return `removes property ${c.subject} in "${c.entry}"${where}`;
    case 'property-required':
      return `makes property ${c.subject} required in "${c.entry}"${where}`;
    case 'type-narrowed':
      return `narrows the type of ${c.subject} in "${c.entry}"${where}${c.from !== undefined ? `: ${fromTo}` : ''}`;
  }
}

/** At most this many findings per update; the last one says how many more there were. */
export const MAX_FINDINGS_PER_UPDATE = 10;

/**
 * Findings for `name from → to` given the changes found. Only minor and patch releases can be
 * dishonest: a major may break, a prerelease promises nothing.
 */
export function evaluateSemverHonesty(input: {
  name: string;
  from: string;
  to: string;
  changes: readonly InterfaceChange[];
  policy: Pick<Policy, 'semverHonesty'>;
}): Finding[] {
  const { name, from, to, changes, policy } = input;
  if (policy.semverHonesty === 'off') return [];
  const bump = classifyBump(from, to);
  if (bump !== 'minor' && bump !== 'patch') return [];
  const effect = policy.semverHonesty;
  const shown = changes.slice(0, MAX_FINDINGS_PER_UPDATE);
  return shown.map((c, i) => {
    const more =
      i === shown.length - 1 && changes.length > shown.length
        ? ` (and ${changes.length - shown.length} more breaking changes)`
        : '';
    return {
      name,
      version: to,
      rule: 'semver-honesty',
      outcome: effect,
      effect,
      scope: 'version',
      threshold: `no breaking change in a ${bump} release`,
      observed: describeChange(c),
      message: `${name} ${from} → ${to} ${describeChange(c)}: a breaking change in a ${bump} release${more}`,
      hint: `stay on ${name}@${from}, treat the update as a major one (check your uses of ${c.subject}), or add "${name}@${to}" to allow with a reason`,
      evidence: { from, to, bump, change: c },
    } satisfies Finding;
  });
}
