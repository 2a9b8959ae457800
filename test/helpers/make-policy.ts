import { validatePolicy } from '../../src/policy/parse-policy.js';
import type { GuardrailContext, Policy, PopularIndex, VersionFacts } from '../../src/policy/types.js';

/** A policy from file-form overrides, through the real validator (so tests use what users write). */
export function makePolicy(overrides: Record<string, unknown> = {}): Policy {
  return validatePolicy(
    {
      id: 'test',
      action: 'block',
      coolingOffDays: 0,
      minWeeklyDownloads: 0,
      typosquatting: false,
      suspiciousVersion: false,
      ...overrides,
    },
    { file: 'test-policy.json' },
  );
}

export const NOW = new Date('2026-11-22T12:00:00.000Z');

export function daysAgo(days: number, now: Date = NOW): string {
  return new Date(now.getTime() - days * 86400000).toISOString();
}

export const EMPTY_POPULAR: PopularIndex = { asOf: '2026-03-01', monthlyDownloads: () => undefined };

export function makeContext(
  partial: Partial<GuardrailContext> & { facts?: VersionFacts } = {},
): GuardrailContext {
  return {
    name: 'left-pad',
    version: '1.3.1',
    policy: makePolicy(),
    facts: {},
    now: NOW,
    popular: EMPTY_POPULAR,
    ...partial,
  };
}
