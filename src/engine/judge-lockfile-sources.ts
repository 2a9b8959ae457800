// The lockfile-source rule over a lockfile's checked entries: where each entry's bytes come from.
// Shared by `lockwarden audit`, the Action's inline mode and its service mode, so that a lockfile
// gets the same findings whichever engine judged its names and versions.

import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import type { LockfileEntry } from '../lockfile/lockfile-inventory.js';
import { strongestDecision } from '../policy/evaluate.js';
import { evaluateLockfileSource } from '../policy/lockfile-source.js';
import type { Policy, Verdict } from '../policy/types.js';

/**
 * Registries lockfile entries may resolve to: the configured one(s), the policy's `registries`,
 * and for npm's own lockfiles npm's default registry, whose URLs npm rewrites to the configured
 * registry at install time (`replace-registry-host`, default `npmjs`). Other clients fetch
 * what the lockfile says.
 */
export function trustedRegistries(
  policy: Pick<Policy, 'registries'>,
  configured: readonly string[],
  entry: LockfileEntry,
): string[] {
  const out = [...configured, ...policy.registries];
  const npmOnly = entry.locations.every((l) =>
    /(?:^|[\\/])(?:package-lock|npm-shrinkwrap)\.json$/.test(l.file),
  );
  if (npmOnly) out.push(npmDefaultRegistry());
  return out;
}

function npmDefaultRegistry(): string {
  // From npm's own config definitions, so that no registry host is written down here.
  return (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry?.default as string;
}

/**
 * Adds each entry's lockfile-source findings to its verdict (`verdicts[i]` judges `entries[i]`).
 * Not lifted by the allow list: it names packages, and this is about where bytes come from.
 */
export function judgeLockfileSources(
  verdicts: readonly Verdict[],
  entries: readonly LockfileEntry[],
  policy: Pick<Policy, 'id' | 'action' | 'lockfileSource' | 'registries'>,
  configured: readonly string[],
): Verdict[] {
  return verdicts.map((verdict, i) => {
    const entry = entries[i]!;
    const registries = trustedRegistries(policy, configured, entry);
    const findings = evaluateLockfileSource(entry, { policy, registries });
    if (findings.length === 0) return verdict;
    const all = [...verdict.findings, ...findings];
    return { ...verdict, findings: all, decision: strongestDecision(all) };
  });
}
