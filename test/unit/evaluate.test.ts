import { describe, expect, it } from 'vitest';
import { evaluateVersion } from '../../src/policy/evaluate.js';
import { matchesEntry } from '../../src/policy/list-entry.js';
import type { VersionFacts } from '../../src/policy/types.js';
import { daysAgo, makeContext, makePolicy } from '../helpers/make-policy.js';

const young: VersionFacts = { publishedAt: { status: 'ok', value: daysAgo(1) } };
const old: VersionFacts = { publishedAt: { status: 'ok', value: daysAgo(100) } };
const down: VersionFacts = {
  publishedAt: { status: 'unavailable', source: 'registry', reason: 'connection refused' },
};

describe('list entries', () => {
  const entry = (spec: string) => makePolicy({ allow: [spec] }).allow[0]!;
  it.each([
    ['lodash', 'lodash', '4.17.21', true],
    ['lodash', 'lodash-es', '4.17.21', false],
    ['LoDash', 'lodash', '1.0.0', true],
    ['@myorg/*', '@myorg/utils', '1.0.0', true],
    ['@myorg/*', '@other/utils', '1.0.0', false],
    ['eslint-plugin-*', 'eslint-plugin-react', '7.0.0', true],
    ['eslint-plugin-*', '@evil/eslint-plugin-react', '7.0.0', false],
    ['lodash@<4.17.21', 'lodash', '4.17.20', true],
    ['lodash@<4.17.21', 'lodash', '4.17.21', false],
    ['@types/node@>=20', '@types/node', '22.1.0', true],
    ['next@^15.0.0', 'next', '15.1.0-canary.3', true],
    ['lodash@4', 'lodash', null, false],
    ['lodash', 'lodash', null, true],
  ])('%s matches %s@%s: %s', (spec, name, version, expected) => {
    expect(matchesEntry(entry(spec), name, version)).toBe(expected);
  });
});

describe('evaluateVersion precedence', () => {
  const base = { coolingOffDays: 7 };
  it.each([
    ['nothing matches, young', {}, young, 'block', ['cooling-off']],
    ['nothing matches, old', {}, old, 'allow', []],
    ['allow bypasses guardrails', { allow: ['left-pad'] }, young, 'allow', []],
    ['allow with matching range', { allow: ['left-pad@1.3.1'] }, young, 'allow', []],
    ['allow with other range does not apply', { allow: ['left-pad@1.3.0'] }, young, 'block', ['cooling-off']],
    ['block beats guardrails', { block: ['left-pad'] }, old, 'block', ['blocklist']],
    ['block beats allow', { block: ['left-pad'], allow: ['left-pad'] }, old, 'block', ['blocklist']],
    ['block blocks in alert mode', { action: 'alert', block: ['left-pad@1'] }, old, 'block', ['blocklist']],
    ['alert mode alerts', { action: 'alert' }, young, 'alert', ['cooling-off']],
    [
      'expired allow stops applying',
      { allow: [{ package: 'left-pad', expires: '2026-11-21' }] },
      young,
      'block',
      ['cooling-off'],
    ],
    [
      'allow applies through its expiry day',
      { allow: [{ package: 'left-pad', expires: '2026-11-22' }] },
      young,
      'allow',
      [],
    ],
    [
      'expired block stops applying',
      { block: [{ package: 'left-pad', expires: '2026-01-01' }] },
      old,
      'allow',
      [],
    ],
    ['unavailable follows onUnavailable: alert', { onUnavailable: 'alert' }, down, 'alert', ['cooling-off']],
    ['unavailable follows onUnavailable: block', { onUnavailable: 'block' }, down, 'block', ['cooling-off']],
    [
      'unavailable follows onUnavailable: allow (still reported)',
      { onUnavailable: 'allow' },
      down,
      'allow',
      ['cooling-off'],
    ],
  ] as const)('%s', (_label, overrides, facts, decision, rules) => {
    const verdict = evaluateVersion(makeContext({ policy: makePolicy({ ...base, ...overrides }), facts }));
    expect(verdict.decision).toBe(decision);
    expect(verdict.findings.map((f) => f.rule)).toEqual(rules);
  });

  it('reports expired allow entries as notices', () => {
    const policy = makePolicy({
      ...base,
      allow: [{ package: 'left-pad', reason: 'vetted', expires: '2026-11-01' }],
    });
    const verdict = evaluateVersion(makeContext({ policy, facts: young }));
    expect(verdict.notices).toEqual([
      {
        name: 'left-pad',
        version: '1.3.1',
        kind: 'expired-allow',
        message:
          'allow entry "left-pad" expired on 2026-11-01 (vetted) and no longer applies to left-pad@1.3.1; renew or remove it',
      },
    ]);
  });

  it('says which allow entry applied', () => {
    const policy = makePolicy({ ...base, allow: [{ package: '@myorg/*', reason: 'ours' }] });
    const verdict = evaluateVersion(makeContext({ name: '@myorg/x', policy, facts: young }));
    expect(verdict.allowedBy).toBe('@myorg/*');
    expect(verdict.notices[0]).toMatchObject({
      kind: 'allowed-by-list',
      message: 'allowed by "@myorg/*" (ours)',
    });
  });

  it('notes a package the registry does not know and still checks its name', () => {
    const policy = makePolicy({ ...base });
    const verdict = evaluateVersion(
      makeContext({ version: null, policy, facts: { packageKnown: { status: 'ok', value: false } } }),
    );
    expect(verdict.notices.map((n) => n.kind)).toEqual(['unknown-package']);
  });

  it.each([
    [
      'the package',
      { packageKnown: { status: 'ok', value: false }, versionKnown: { status: 'ok', value: false } },
      'block',
      'block',
    ],
    [
      'the version',
      { packageKnown: { status: 'ok', value: true }, versionKnown: { status: 'ok', value: false } },
      'block',
      'block',
    ],
    [
      'the version, under alert',
      { packageKnown: { status: 'ok', value: true }, versionKnown: { status: 'ok', value: false } },
      'alert',
      'alert',
    ],
  ] as const)(
    'a registry without %s is a not-on-registry finding (action %s)',
    (_what, facts, action, decision) => {
      const policy = makePolicy({ ...base, action });
      const verdict = evaluateVersion(
        makeContext({ name: 'lodahs', version: '4.17.21', policy, facts: facts as VersionFacts }),
      );
      expect(verdict.decision).toBe(decision);
      expect(verdict.findings).toHaveLength(1);
      expect(verdict.findings[0]).toMatchObject({ rule: 'not-on-registry', outcome: action, effect: action });
      expect(verdict.findings[0]!.message).toMatch(
        /^lodahs@4\.17\.21 is not on the registry: unpublished, or the lockfile was edited/,
      );
      expect(verdict.findings[0]!.hint).not.toMatch(/retry|reachable/);
    },
  );

  it("a bundled copy the registry does not list is the bundler's own, not a finding", () => {
    for (const packageKnown of [true, false]) {
      const verdict = evaluateVersion(
        makeContext({
          name: 'libnpmpack',
          version: '10.0.5',
          policy: makePolicy({ ...base }),
          facts: {
            packageKnown: { status: 'ok', value: packageKnown },
            versionKnown: { status: 'ok', value: false },
            bundled: true,
          },
        }),
      );
      expect(verdict.findings.map((f) => f.rule)).not.toContain('not-on-registry');
    }
  });

  it('an outage stays unavailable, never not-on-registry', () => {
    const verdict = evaluateVersion(makeContext({ policy: makePolicy({ ...base }), facts: down }));
    expect(verdict.findings.map((f) => `${f.rule} ${f.outcome}`)).toEqual(['cooling-off unavailable']);
  });

  it('an allow entry still lets a missing version through, as it does every guardrail', () => {
    const policy = makePolicy({ ...base, allow: [{ package: 'lodahs', reason: 'vendored' }] });
    const verdict = evaluateVersion(
      makeContext({
        name: 'lodahs',
        version: '1.0.0',
        policy,
        facts: { versionKnown: { status: 'ok', value: false } },
      }),
    );
    expect(verdict.decision).toBe('allow');
  });

  it('the blocklist finding names the entry and reason', () => {
    const policy = makePolicy({ block: [{ package: 'event-stream@3.3.6', reason: 'compromised' }] });
    const verdict = evaluateVersion(makeContext({ name: 'event-stream', version: '3.3.6', policy }));
    expect(verdict.findings[0]).toMatchObject({
      rule: 'blocklist',
      outcome: 'block',
      scope: 'version',
      message: 'event-stream@3.3.6 is on the block list ("event-stream@3.3.6": compromised)',
    });
  });
});
