import { describe, expect, it } from 'vitest';
import { evaluateCoolingOff } from '../../src/policy/cooling-off.js';
import { parsePublishTime } from '../../src/policy/format.js';
import { evaluatePopularity } from '../../src/policy/popularity.js';
import { parseRepository } from '../../src/policy/repository.js';
import {
  evaluateSuspiciousVersion,
  previousStableVersions,
  tagCandidates,
} from '../../src/policy/suspicious-version.js';
import type { Fact, RepositoryTags } from '../../src/policy/types.js';
import { daysAgo, makeContext, makePolicy, NOW } from '../helpers/make-policy.js';

const down = { status: 'unavailable', source: 'registry', reason: 'timed out after 10000 ms' } as const;

describe('parsePublishTime', () => {
  it.each([
    ['2024-12-04T23:03:58.786Z', Date.UTC(2024, 11, 4, 23, 3, 58, 786)],
    ['2024-12-04T23:03:58.786000+00:00', Date.UTC(2024, 11, 4, 23, 3, 58, 786)],
    ['2024-12-04T23:03:58+02:00', Date.UTC(2024, 11, 4, 21, 3, 58)],
    ['2024-12-04T23:03:58.786+0000', Date.UTC(2024, 11, 4, 23, 3, 58, 786)],
    ['2024-12-04T23:03:58', Date.UTC(2024, 11, 4, 23, 3, 58)],
    ['2024-12-04', Date.UTC(2024, 11, 4)],
    ['yesterday', null],
    ['2024-13-45T00:00:00Z', null],
  ])('%s', (raw, expected) => {
    expect(parsePublishTime(raw)).toBe(expected);
  });
});

describe('cooling-off', () => {
  const policy = makePolicy({ coolingOffDays: 7 });
  it.each([
    ['published 2 days ago', daysAgo(2), 'block'],
    ['published 6.9 days ago', daysAgo(6.9), 'block'],
    ['published exactly 7 days ago', daysAgo(7), null],
    ['published 30 days ago', daysAgo(30), null],
    ['mirror timestamp form, 1 day ago', daysAgo(1).replace('Z', '000+00:00'), 'block'],
    ['published in the future (clock skew)', daysAgo(-1), 'block'],
  ])('%s', (_label, publishedAt, outcome) => {
    const findings = evaluateCoolingOff(
      makeContext({ policy, facts: { publishedAt: { status: 'ok', value: publishedAt } } }),
    );
    expect(findings.map((f) => f.outcome)).toEqual(outcome ? [outcome] : []);
  });

  it('says how old the version is, when it passes and how to get past it', () => {
    const [f] = evaluateCoolingOff(
      makeContext({ policy, facts: { publishedAt: { status: 'ok', value: daysAgo(2) } } }),
    );
    expect(f).toMatchObject({
      rule: 'cooling-off',
      threshold: 7,
      observed: 2,
      scope: 'version',
      message: 'left-pad@1.3.1 was published 2 days ago (cooling-off 7 days); it passes on 2026-11-27',
    });
    expect(f!.hint).toContain('add "left-pad@1.3.1" to allow with a reason');
  });

  it('gives the UTC time when the version passes within two days', () => {
    const [f] = evaluateCoolingOff(
      makeContext({ policy, facts: { publishedAt: { status: 'ok', value: daysAgo(6.5) } } }),
    );
    expect(f!.message).toBe(
      'left-pad@1.3.1 was published 6.5 days ago (cooling-off 7 days); it passes on 2026-11-23 00:00 UTC',
    );
  });

  it('alerts instead of blocking in alert mode', () => {
    const alertPolicy = makePolicy({ coolingOffDays: 7, action: 'alert' });
    const [f] = evaluateCoolingOff(
      makeContext({ policy: alertPolicy, facts: { publishedAt: { status: 'ok', value: daysAgo(1) } } }),
    );
    expect(f).toMatchObject({ outcome: 'alert', effect: 'alert' });
  });

  it('supports fractional days', () => {
    const half = makePolicy({ coolingOffDays: 0.5 });
    expect(
      evaluateCoolingOff(
        makeContext({ policy: half, facts: { publishedAt: { status: 'ok', value: daysAgo(0.4) } } }),
      ),
    ).toHaveLength(1);
    expect(
      evaluateCoolingOff(
        makeContext({ policy: half, facts: { publishedAt: { status: 'ok', value: daysAgo(0.6) } } }),
      ),
    ).toHaveLength(0);
  });

  it.each([
    [
      'no time entry',
      { status: 'ok', value: null } as const,
      'the packument has no publish time for left-pad@1.3.1',
    ],
    [
      'garbage time',
      { status: 'ok', value: 'last tuesday' } as const,
      'unparseable publish time "last tuesday"',
    ],
    ['registry down', down, 'timed out after 10000 ms'],
  ])('%s is unavailable, never new or old', (_label, fact, reason) => {
    for (const onUnavailable of ['allow', 'alert', 'block'] as const) {
      const p = makePolicy({ coolingOffDays: 7, onUnavailable });
      const [f] = evaluateCoolingOff(makeContext({ policy: p, facts: { publishedAt: fact } }));
      expect(f).toMatchObject({ outcome: 'unavailable', effect: onUnavailable, rule: 'cooling-off' });
      expect(f!.message).toContain(reason);
      expect(f!.message).toContain(`onUnavailable: ${onUnavailable}`);
    }
  });

  it('an upper bound proves age but never youth', () => {
    const young = {
      publishedAt: { status: 'ok', value: daysAgo(1) } as const,
      publishedAtIsUpperBound: true,
    };
    const [f] = evaluateCoolingOff(makeContext({ policy, facts: young }));
    expect(f).toMatchObject({ outcome: 'unavailable', rule: 'cooling-off' });
    expect(f!.message).toContain('not when left-pad@1.3.1 was published');
    const old = { publishedAt: { status: 'ok', value: daysAgo(30) } as const, publishedAtIsUpperBound: true };
    expect(evaluateCoolingOff(makeContext({ policy, facts: old }))).toEqual([]);
  });

  it('is off at 0 days', () => {
    expect(
      evaluateCoolingOff(
        makeContext({ policy: makePolicy(), facts: { publishedAt: { status: 'ok', value: daysAgo(0) } } }),
      ),
    ).toEqual([]);
  });
});

describe('popularity', () => {
  const policy = makePolicy({ minWeeklyDownloads: 1000 });
  it.each([
    [999, 'block'],
    [0, 'block'],
    [1000, null],
    [5_000_000, null],
  ])('%i weekly downloads', (count, outcome) => {
    const findings = evaluatePopularity(
      makeContext({ policy, facts: { weeklyDownloads: { status: 'ok', value: { count, origin: 'api' } } } }),
    );
    expect(findings.map((f) => f.outcome)).toEqual(outcome ? [outcome] : []);
  });

  it('names threshold and observed value', () => {
    const [f] = evaluatePopularity(
      makeContext({
        policy,
        facts: { weeklyDownloads: { status: 'ok', value: { count: 312, origin: 'api' } } },
      }),
    );
    expect(f).toMatchObject({
      rule: 'popularity',
      scope: 'package',
      threshold: 1000,
      observed: 312,
      message: 'left-pad has 312 downloads in the last 7 days; the policy requires at least 1,000',
    });
  });

  it('says when the figure is a snapshot and from when', () => {
    const p = makePolicy({ minWeeklyDownloads: 10_000_000 });
    const [f] = evaluatePopularity(
      makeContext({
        policy: p,
        facts: {
          weeklyDownloads: { status: 'ok', value: { count: 9000, origin: 'snapshot', asOf: '2026-03-01' } },
        },
      }),
    );
    expect(f!.message).toContain('(embedded snapshot of 2026-03-01; the downloads API was unreachable)');
  });

  it('reports an unreachable downloads API as unavailable', () => {
    const [f] = evaluatePopularity(
      makeContext({
        policy,
        facts: {
          weeklyDownloads: { status: 'unavailable', source: 'downloads', reason: 'connection refused' },
        },
      }),
    );
    expect(f).toMatchObject({ outcome: 'unavailable', effect: 'alert', source: 'downloads' });
    // Popular names fall back to the embedded list; the finding says this one could not.
    expect(f!.message).toBe(
      'weekly downloads unavailable: connection refused; left-pad is not on the embedded list of popular packages (2026-03-01) to fall back on (onUnavailable: alert)',
    );
    expect(f!.evidence).toEqual({ fact: 'weekly downloads', reason: 'connection refused' });
  });
});

describe('parseRepository', () => {
  it.each([
    ['git+https://github.com/expressjs/express.git', { status: 'github', repo: 'expressjs/express' }],
    ['github:sindresorhus/ky', { status: 'github', repo: 'sindresorhus/ky' }],
    ['sindresorhus/ky', { status: 'github', repo: 'sindresorhus/ky' }],
    ['git@github.com:npm/cli.git', { status: 'github', repo: 'npm/cli' }],
    [
      { type: 'git', url: 'https://github.com/babel/babel.git', directory: 'packages/babel-core' },
      { status: 'github', repo: 'babel/babel', directory: 'packages/babel-core' },
    ],
    [
      'https://gitlab.com/a/b.git',
      { status: 'unsupported', reason: 'repository is on gitlab.com; tag checks support GitHub only' },
    ],
    [undefined, { status: 'unsupported', reason: 'no repository field' }],
    [{ url: 42 }, { status: 'unsupported', reason: 'no repository field' }],
    [
      'https://example.com/x',
      { status: 'unsupported', reason: 'repository "https://example.com/x" is not on a known git host' },
    ],
  ])('%j', (field, expected) => {
    expect(parseRepository(field)).toEqual(expected);
  });
});

describe('suspicious-version', () => {
  const policy = makePolicy({ suspiciousVersion: true, suspiciousVersionGraceHours: 24 });
  const tags = (list: string[]): Fact<RepositoryTags> => ({
    status: 'ok',
    value: { repo: 'acme/widget', tags: list },
  });
  const versions = ['1.0.0', '1.1.0', '1.2.0', '1.2.1', '1.3.0', '2.0.0-beta.1'];
  const ctx = (name: string, version: string, tagList: string[], publishedDaysAgo = 10) =>
    makeContext({
      name,
      version,
      policy,
      facts: {
        repositoryTags: tags(tagList),
        knownVersions: versions,
        publishedAt: { status: 'ok', value: daysAgo(publishedDaysAgo) },
      },
    });

  it.each([
    ['v-prefixed', 'widget', ['v1.3.0']],
    ['bare version', 'widget', ['1.3.0']],
    ['name@version', '@acme/widget', ['@acme/widget@1.3.0']],
    ['name@v', 'widget', ['widget@v1.3.0']],
    ['name-v', 'widget', ['widget-v1.3.0']],
    ['unscoped-v', '@acme/widget', ['widget-v1.3.0']],
    ['name_v', 'widget', ['widget_v1.3.0']],
    ['case-insensitive', 'widget', ['V1.3.0']],
  ])('a %s tag passes', (_label, name, tagList) => {
    expect(evaluateSuspiciousVersion(ctx(name, '1.3.0', tagList))).toEqual([]);
  });

  it('a tag regression follows the policy action', () => {
    const [f] = evaluateSuspiciousVersion(ctx('widget', '1.3.0', ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.2.1']));
    expect(f).toMatchObject({
      rule: 'suspicious-version',
      outcome: 'block',
      evidence: { regression: true, previousTagged: ['1.2.1', '1.2.0', '1.1.0', '1.0.0'] },
    });
    expect(f!.message).toContain(
      '4 of the 4 previous versions are tagged (1.2.1, 1.2.0, 1.1.0), this one is not: a tag regression',
    );
  });

  it('a project that never tags only alerts', () => {
    const [f] = evaluateSuspiciousVersion(ctx('widget', '1.3.0', ['some-other-tag']));
    expect(f).toMatchObject({ outcome: 'alert', evidence: { regression: false } });
    expect(f!.message).toContain('none of the 4 previous versions is tagged either');
  });

  it('allows a grace period after publish', () => {
    expect(evaluateSuspiciousVersion(ctx('widget', '1.3.0', ['v1.2.1'], 0.5))).toEqual([]);
    expect(evaluateSuspiciousVersion(ctx('widget', '1.3.0', ['v1.2.1'], 1.5))).toHaveLength(1);
  });

  it('exempts @types packages', () => {
    expect(evaluateSuspiciousVersion(ctx('@types/node', '1.3.0', ['v1.2.1']))).toEqual([]);
  });

  it('reports a missing repository as unavailable with the reason', () => {
    const [f] = evaluateSuspiciousVersion(
      makeContext({
        policy,
        facts: {
          repositoryTags: {
            status: 'unavailable',
            source: 'repository',
            reason: 'repository is on gitlab.com; tag checks support GitHub only',
          },
        },
      }),
    );
    expect(f).toMatchObject({ outcome: 'unavailable', source: 'repository' });
    expect(f!.message).toContain('gitlab.com');
  });

  it('lists the tag forms projects use', () => {
    expect(tagCandidates('@acme/widget', '1.2.3')).toEqual(
      expect.arrayContaining([
        'v1.2.3',
        '1.2.3',
        '@acme/widget@1.2.3',
        '@acme/widget@v1.2.3',
        '@acme/widget-v1.2.3',
        'widget-v1.2.3',
        '@acme/widget_v1.2.3',
      ]),
    );
  });

  it('finds previous stable versions, newest first, skipping junk', () => {
    const list = ['0.14.0beta', '1.0.0', '2.0.0', '1.5.0', '1.5.0-rc.1', '3.0.0'];
    expect(previousStableVersions(list, '2.0.0', 5)).toEqual(['1.5.0', '1.0.0']);
    expect(previousStableVersions(list, 'not-semver', 5)).toEqual([]);
  });
  void NOW;
});
