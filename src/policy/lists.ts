// allow and block lists. Precedence: block (always blocks, in both modes) > allow (bypasses every
// guardrail) > guardrails. Expired entries stop applying and are reported, so exceptions cannot rot.
import { spec } from './format.js';
import { isExpired, matchesEntry } from './list-entry.js';
import type { Finding, GuardrailContext, ListEntry, Notice } from './types.js';

export interface ListResult {
  blockedBy?: ListEntry;
  allowedBy?: ListEntry;
  notices: Notice[];
}

export function evaluateLists(ctx: GuardrailContext): ListResult {
  const { policy, name, version, now } = ctx;
  const notices: Notice[] = [];
  const pick = (entries: ListEntry[], kind: 'allow' | 'block'): ListEntry | undefined => {
    let found: ListEntry | undefined;
    for (const entry of entries) {
      if (!matchesEntry(entry, name, version)) continue;
      if (isExpired(entry, now)) {
        notices.push({
          name,
          version,
          kind: kind === 'allow' ? 'expired-allow' : 'expired-block',
          message: `${kind} entry "${entry.spec}" expired on ${entry.expires}${entry.reason ? ` (${entry.reason})` : ''} and no longer applies to ${spec(name, version)}; renew or remove it`,
        });
        continue;
      }
      found ??= entry;
    }
    return found;
  };
  const result: ListResult = { notices };
  const blockedBy = pick(policy.block, 'block');
  const allowedBy = pick(policy.allow, 'allow');
  if (blockedBy) result.blockedBy = blockedBy;
  if (allowedBy) result.allowedBy = allowedBy;
  return result;
}

export function blocklistFinding(ctx: GuardrailContext, entry: ListEntry): Finding {
  const { name, version } = ctx;
  return {
    name,
    version,
    rule: 'blocklist',
    outcome: 'block',
    effect: 'block',
    scope: entry.range === undefined ? 'package' : 'version',
    threshold: entry.spec,
    observed: spec(name, version),
    message: `${spec(name, version)} is on the block list ("${entry.spec}"${entry.reason ? `: ${entry.reason}` : ''})`,
    hint:
      entry.range === undefined
        ? `use another package, or remove "${entry.spec}" from block`
        : `use a version outside ${entry.range}, or remove "${entry.spec}" from block`,
    evidence: {
      entry: entry.spec,
      ...(entry.reason ? { reason: entry.reason } : {}),
      ...(entry.expires ? { expires: entry.expires } : {}),
    },
  };
}
