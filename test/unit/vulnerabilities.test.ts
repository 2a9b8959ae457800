import { describe, expect, it } from 'vitest';
import { evaluateVersion } from '../../src/policy/evaluate.js';
import { serializePolicy, validatePolicy } from '../../src/policy/parse-policy.js';
import { previousVersion } from '../../src/policy/security-fast-lane.js';
import type { Advisory, VersionFacts } from '../../src/policy/types.js';
import { firstFixedVersion } from '../../src/policy/vulnerabilities.js';
import { daysAgo, makeContext, makePolicy } from '../helpers/make-policy.js';

const HIGH: Advisory = {
  id: 'GHSA-aaaa-bbbb-cccc',
  aliases: ['CVE-2026-0001'],
  severity: 'high',
  title: 'Prototype pollution in pad',
  vulnerableVersions: '<1.3.2',
  url: 'https://example.test/advisories/GHSA-aaaa-bbbb-cccc',
};
const LOW: Advisory = {
  ...HIGH,
  id: 'GHSA-llll-llll-llll',
  aliases: [],
  severity: 'low',
  title: 'Minor leak',
  vulnerableVersions: '<2.0.0',
};
const VERSIONS = ['1.0.0', '1.3.0', '1.3.1', '1.3.2', '1.4.0-beta.1', '2.0.0'];

function facts(advisories: Advisory[], extra: VersionFacts = {}): VersionFacts {
  return { advisories: { status: 'ok', value: advisories }, knownVersions: VERSIONS, ...extra };
}

describe('vulnerabilities guardrail', () => {
  const policy = makePolicy({ vulnerabilities: { minSeverity: 'moderate' } });

  it('blocks a vulnerable version, naming the advisory, its severity, title and first fixed version', () => {
    const v = evaluateVersion(makeContext({ policy, version: '1.3.1', facts: facts([HIGH, LOW]) }));
    expect(v.decision).toBe('block');
    expect(v.findings).toHaveLength(1); // the low one is under the threshold
    const f = v.findings[0]!;
    expect(f).toMatchObject({
      rule: 'vulnerabilities',
      outcome: 'block',
      threshold: 'moderate',
      observed: 'high',
    });
    expect(f.message).toBe(
      'left-pad@1.3.1 has advisory GHSA-aaaa-bbbb-cccc (high): Prototype pollution in pad; fixed in 1.3.2',
    );
    expect(f.hint).toContain('update to left-pad@1.3.2 or later');
    expect(f.evidence).toMatchObject({ advisory: HIGH.id, firstFixed: '1.3.2', aliases: ['CVE-2026-0001'] });
  });

  it.each([
    ['1.3.2', 'allow'],
    ['1.0.0', 'block'],
    ['2.0.0', 'allow'],
  ])('%s is %s', (version, decision) => {
    expect(evaluateVersion(makeContext({ policy, version, facts: facts([HIGH]) })).decision).toBe(decision);
  });

  it('alerts instead under action alert, and counts low advisories with minSeverity low', () => {
    const alert = makePolicy({ action: 'alert', vulnerabilities: { minSeverity: 'low' } });
    const v = evaluateVersion(makeContext({ policy: alert, version: '1.3.1', facts: facts([HIGH, LOW]) }));
    expect(v.decision).toBe('alert');
    expect(v.findings.map((f) => f.evidence?.advisory)).toEqual([HIGH.id, LOW.id]);
  });

  it('says when no fixed version is published', () => {
    const open = { ...HIGH, vulnerableVersions: '>=1.0.0' };
    const f = evaluateVersion(makeContext({ policy, version: '2.0.0', facts: facts([open]) })).findings[0]!;
    expect(f.message).toContain('no fixed version is published');
    expect(f.hint).toContain('use another package');
  });

  it('lets an allow-listed advisory through by id or alias, and reports expired entries', () => {
    for (const advisory of [HIGH.id, 'cve-2026-0001']) {
      const p = makePolicy({
        vulnerabilities: { minSeverity: 'low' },
        allow: [{ advisory, reason: 'not reachable from our code', expires: '2026-12-31' }],
      });
      const v = evaluateVersion(makeContext({ policy: p, version: '1.3.1', facts: facts([HIGH]) }));
      expect(v.decision).toBe('allow');
      expect(v.notices[0]).toMatchObject({ kind: 'allowed-by-list' });
      expect(v.notices[0]!.message).toContain('not reachable from our code');
    }
    const expired = makePolicy({
      vulnerabilities: { minSeverity: 'low' },
      allow: [{ advisory: HIGH.id, expires: '2026-01-01' }],
    });
    const v = evaluateVersion(makeContext({ policy: expired, version: '1.3.1', facts: facts([HIGH]) }));
    expect(v.decision).toBe('block');
    expect(v.notices.map((n) => n.kind)).toEqual(['expired-allow']);
  });

  it('follows onUnavailable when the advisory source is down', () => {
    const p = makePolicy({ vulnerabilities: { minSeverity: 'high' }, onUnavailable: 'block' });
    const v = evaluateVersion(
      makeContext({
        policy: p,
        facts: { advisories: { status: 'unavailable', source: 'registry advisories', reason: 'HTTP 503' } },
      }),
    );
    expect(v.decision).toBe('block');
    expect(v.findings[0]).toMatchObject({
      rule: 'vulnerabilities',
      outcome: 'unavailable',
      source: 'registry advisories',
    });
    expect(v.findings[0]!.evidence).toMatchObject({ fact: 'advisories', reason: 'HTTP 503' });
  });
});

describe('security fast lane', () => {
  const young = (days: number) => ({ publishedAt: { status: 'ok' as const, value: daysAgo(days) } });

  it('lets a young fix through cooling-off with an alert that says why', () => {
    const p = makePolicy({ coolingOffDays: 7, vulnerabilities: { minSeverity: 'moderate' } });
    const v = evaluateVersion(makeContext({ policy: p, version: '1.3.2', facts: facts([HIGH], young(1)) }));
    expect(v.decision).toBe('alert');
    expect(v.findings).toHaveLength(1);
    expect(v.findings[0]).toMatchObject({ rule: 'cooling-off', outcome: 'alert', effect: 'alert' });
    expect(v.findings[0]!.message).toBe(
      'left-pad 1.3.2 is 24 hours old; allowed early: it fixes GHSA-aaaa-bbbb-cccc (high) that affects 1.3.1',
    );
  });

  it('holds the version when securityFixes is normal, the fix is under the threshold, or advisories are down', () => {
    const normal = makePolicy({
      coolingOffDays: 7,
      vulnerabilities: { minSeverity: 'moderate' },
      securityFixes: 'normal',
    });
    expect(
      evaluateVersion(makeContext({ policy: normal, version: '1.3.2', facts: facts([HIGH], young(1)) }))
        .decision,
    ).toBe('block');
    const strict = makePolicy({ coolingOffDays: 7, vulnerabilities: { minSeverity: 'critical' } });
    expect(
      evaluateVersion(makeContext({ policy: strict, version: '1.3.2', facts: facts([HIGH], young(1)) }))
        .decision,
    ).toBe('block');
    const p = makePolicy({
      coolingOffDays: 7,
      vulnerabilities: { minSeverity: 'moderate' },
      onUnavailable: 'allow',
    });
    const down: VersionFacts = {
      ...young(1),
      knownVersions: VERSIONS,
      advisories: { status: 'unavailable', source: 'OSV', reason: 'down' },
    };
    const v = evaluateVersion(makeContext({ policy: p, version: '1.3.2', facts: down }));
    expect(v.findings.find((f) => f.rule === 'cooling-off')?.outcome).toBe('block');
  });

  it('does not treat a version that does not fix anything as a fix; other guardrails still apply', () => {
    const p = makePolicy({
      coolingOffDays: 7,
      vulnerabilities: { minSeverity: 'moderate' },
      block: ['left-pad@2.0.0'],
    });
    expect(
      evaluateVersion(
        makeContext({ policy: p, version: '1.3.1', facts: facts([HIGH], young(1)) }),
      ).findings.map((f) => [f.rule, f.outcome]),
    ).toEqual([
      ['cooling-off', 'block'],
      ['vulnerabilities', 'block'],
    ]);
    expect(
      evaluateVersion(
        makeContext({
          policy: p,
          version: '2.0.0',
          facts: facts([LOW, { ...HIGH, vulnerableVersions: '<2.0.0' }], young(1)),
        }),
      ).findings[0]!.rule,
    ).toBe('blocklist');
  });

  it('holds a version past an advisory that names no fix (<=, exact malware versions): the next publish is not a fix', () => {
    const p = makePolicy({ coolingOffDays: 7, vulnerabilities: { minSeverity: 'moderate' } });
    for (const vulnerableVersions of ['<=1.3.1', '1.3.1', '>=1.3.0 <=1.3.1']) {
      const v = evaluateVersion(
        makeContext({
          policy: p,
          version: '1.3.2',
          facts: facts([{ ...HIGH, vulnerableVersions }], young(1)),
        }),
      );
      expect(v.findings.find((f) => f.rule === 'cooling-off')?.outcome, vulnerableVersions).toBe('block');
    }
    // OSV's `limit` ends the range where the record stopped looking: `<1.3.2` there names no fix.
    const limited: Advisory = { ...HIGH, vulnerableVersions: '>=1.3.0 <1.3.2', boundsAreNotFixes: true };
    expect(
      evaluateVersion(
        makeContext({ policy: p, version: '1.3.2', facts: facts([limited], young(1)) }),
      ).findings.find((f) => f.rule === 'cooling-off')?.outcome,
    ).toBe('block');
    // A named fix still lets the first fixed version and later ones through.
    const fixed = { ...HIGH, vulnerableVersions: '>=1.3.0 <1.3.2' };
    expect(
      evaluateVersion(makeContext({ policy: p, version: '1.3.2', facts: facts([fixed], young(1)) })).decision,
    ).toBe('alert');
  });

  it('finds the version before and the first fixed version', () => {
    expect(previousVersion('1.3.2', VERSIONS)).toBe('1.3.1');
    expect(previousVersion('2.0.0', VERSIONS)).toBe('1.3.2');
    expect(previousVersion('1.0.0', VERSIONS)).toBeUndefined();
    expect(firstFixedVersion(HIGH, '1.0.0', VERSIONS)).toBe('1.3.2');
    expect(firstFixedVersion(HIGH, '1.0.0', undefined)).toBe('1.3.2');
    expect(
      firstFixedVersion({ ...HIGH, vulnerableVersions: '>=2.0.0 <2.1.4 || <1.5.0' }, '2.0.0', undefined),
    ).toBe('2.1.4');
  });
});

describe('policy keys', () => {
  it('reads and writes back vulnerabilities, securityFixes and advisory allow entries', () => {
    const file = {
      id: 'p',
      vulnerabilities: { minSeverity: 'high' },
      securityFixes: 'normal',
      allow: ['left-pad', { advisory: 'GHSA-aaaa-bbbb-cccc', reason: 'dev only', expires: '2027-01-31' }],
    };
    const policy = validatePolicy(file, { file: 'p.json' });
    expect(policy.vulnerabilities).toEqual({ minSeverity: 'high' });
    expect(policy.securityFixes).toBe('normal');
    expect(policy.allow.map((e) => e.spec)).toEqual(['left-pad']);
    expect(policy.allowAdvisories).toEqual([
      { advisory: 'GHSA-aaaa-bbbb-cccc', reason: 'dev only', expires: '2027-01-31' },
    ]);
    expect(validatePolicy(serializePolicy(policy), { file: 'again' })).toEqual(policy);
    expect(makePolicy().vulnerabilities).toBeUndefined();
  });

  it('reports bad values with their path', () => {
    expect(() =>
      validatePolicy(
        {
          id: 'p',
          vulnerabilities: { minSeverity: 'severe' },
          securityFixes: 'fast',
          allow: [
            { advisory: 'GHSA x', expires: 'soon' },
            { advisory: 'GHSA-aaaa-bbbb-cccc', expires: '2026-02-30' },
          ],
        },
        { file: 'p.json' },
      ),
    ).toThrow(
      /allow\[0\]\.advisory: expected an advisory id[^\n]*\n {2}allow\[0\]\.expires[^\n]*\n {2}allow\[1\]\.expires: expected a date[^\n]*\n {2}vulnerabilities\.minSeverity: expected "low", "moderate", "high" or "critical", got "severe"\n {2}securityFixes: expected "bypass-cooling-off" or "normal", got "fast"/,
    );
  });
});
