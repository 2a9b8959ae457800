// The typosquatting guardrail clears a look-alike only when its packument shows an established
// name (name-history.ts thresholds); fresh, short-lived or undated names keep the finding.
import { describe, expect, it } from 'vitest';
import {
  ESTABLISHED_MIN_AGE_DAYS,
  ESTABLISHED_MIN_SPREAD_DAYS,
  ESTABLISHED_MIN_VERSIONS,
  establishment,
  type NameHistory,
  nameHistoryOf,
} from '../../src/policy/name-history.js';
import type { Fact } from '../../src/policy/types.js';
import { evaluateTyposquatting, typosquattingNeedsHistory } from '../../src/policy/typosquatting.js';
import { daysAgo, makeContext, makePolicy, NOW } from '../helpers/make-policy.js';
import { realPopularIndex } from '../helpers/real-popular-index.js';

const index = realPopularIndex();
const policy = makePolicy({ typosquatting: true });

/** A packument-shaped document: `count` versions published evenly from `firstDays` to `lastDays` ago. */
function doc(
  count: number,
  firstDays: number,
  lastDays: number,
  opts: { created?: number; mirror?: boolean } = {},
) {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const v = `1.${i}.0`;
    versions[v] = {};
    const days = count === 1 ? firstDays : firstDays - ((firstDays - lastDays) * i) / (count - 1);
    // The mirror's form: `+00:00` offsets and microseconds, no created/modified.
    time[v] = opts.mirror ? daysAgo(days).replace('Z', '000+00:00') : daysAgo(days);
  }
  if (opts.created !== undefined) time.created = daysAgo(opts.created);
  return { versions, time };
}

const ok = (value: NameHistory): Fact<NameHistory> => ({ status: 'ok', value });

describe('nameHistoryOf and establishment', () => {
  it.each([
    // [case, document, established]
    ['old, many versions over years', doc(40, 3000, 30), true],
    ['old, many versions, mirror-shaped times', doc(40, 3000, 30, { mirror: true }), true],
    [
      'exactly at every threshold',
      doc(
        ESTABLISHED_MIN_VERSIONS,
        ESTABLISHED_MIN_AGE_DAYS,
        ESTABLISHED_MIN_AGE_DAYS - ESTABLISHED_MIN_SPREAD_DAYS,
      ),
      true,
    ],
    ['fresh squat: many versions this month', doc(30, 20, 1), false],
    ['one-version squat from years ago', doc(1, 2500, 2500), false],
    ['old, but nine versions', doc(ESTABLISHED_MIN_VERSIONS - 1, 3000, 100), false],
    ['old first publish, versions all in one month', doc(20, 1500, 1480), false],
    ['created years ago, versions all last week', doc(15, 7, 1, { created: 3000 }), true],
    ['one year old, many versions', doc(50, 400, 1), false],
  ] as const)('%s', (_case, packument, established) => {
    const history = nameHistoryOf(packument)!;
    expect(establishment(history, NOW).established).toBe(established);
  });

  it('has no history for an abbreviated document (no time map)', () => {
    expect(nameHistoryOf({ versions: { '1.0.0': {} } })).toBeUndefined();
  });

  it('takes time.created over a later earliest version, and counts undated versions out', () => {
    const packument = doc(12, 800, 10, { created: 1000 });
    packument.versions['9.9.9'] = {};
    expect(nameHistoryOf(packument)).toEqual({
      firstPublished: daysAgo(1000),
      lastPublished: daysAgo(10),
      versionCount: 13,
      datedVersions: 12,
    });
  });

  it('does not count a first publish after now as old', () => {
    const future = nameHistoryOf(doc(20, -900, -1000))!;
    expect(establishment(future, NOW).established).toBe(false);
  });
});

describe('evaluateTyposquatting with the name history', () => {
  const ctx = (nameHistory?: Fact<NameHistory>) =>
    makeContext({
      name: 'expres',
      version: '1.0.0',
      policy,
      popular: index,
      facts: nameHistory ? { nameHistory } : {},
    });

  it('flags expres, so the engine reads its history', () => {
    expect(typosquattingNeedsHistory(policy, 'expres', index)).toBe(true);
    expect(typosquattingNeedsHistory(policy, 'express', index)).toBe(false);
    expect(typosquattingNeedsHistory(makePolicy({ typosquatting: false }), 'expres', index)).toBe(false);
  });

  it.each([
    ['old many-version look-alike', ok(nameHistoryOf(doc(40, 3000, 30))!), 0],
    ['fresh look-alike', ok(nameHistoryOf(doc(12, 30, 1))!), 1],
    ['one-version old squat', ok(nameHistoryOf(doc(1, 2500, 2500))!), 1],
    ['history unavailable', { status: 'unavailable', source: 'registry', reason: 'timed out' } as const, 1],
    ['history not read', undefined, 1],
  ] as const)('%s', (_case, history, findings) => {
    const out = evaluateTyposquatting(ctx(history as Fact<NameHistory> | undefined));
    expect(out).toHaveLength(findings);
    if (findings === 1) expect(out[0]).toMatchObject({ rule: 'typosquatting', target: 'express' });
  });

  it('says in the evidence what the history fell short of', () => {
    const [finding] = evaluateTyposquatting(ctx(ok(nameHistoryOf(doc(1, 2500, 2500))!)));
    expect(finding!.evidence!.history).toMatchObject({
      versions: 1,
      shortOf: [
        `1 dated versions (< ${ESTABLISHED_MIN_VERSIONS})`,
        `versions span 0 days (< ${ESTABLISHED_MIN_SPREAD_DAYS})`,
      ],
    });
    const [unavailable] = evaluateTyposquatting(
      ctx({ status: 'unavailable', source: 'registry', reason: 'timed out' }),
    );
    expect(unavailable!.evidence!.history).toBe('unavailable (registry: timed out)');
  });
});
