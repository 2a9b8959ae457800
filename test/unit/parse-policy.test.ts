import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockwardenError } from '../../src/errors.js';
import {
  DEFAULT_POLICY,
  parsePolicy,
  serializePolicy,
  validatePolicy,
} from '../../src/policy/parse-policy.js';

function problemsOf(input: unknown): string[] {
  try {
    validatePolicy(input, { file: 'p.json' });
  } catch (err) {
    expect(err).toBeInstanceOf(LockwardenError);
    expect((err as LockwardenError).code).toBe('EPOLICY');
    return ((err as LockwardenError).details as { path: string; message: string }[]).map(
      (p) => `${p.path}: ${p.message}`,
    );
  }
  throw new Error('expected the policy to be rejected');
}

describe('validatePolicy', () => {
  it('applies defaults', () => {
    const p = validatePolicy({ id: 'x' }, { file: 'p.json' });
    expect(p).toEqual({
      id: 'x',
      name: 'x',
      description: '',
      action: 'block',
      coolingOffDays: 0,
      minWeeklyDownloads: 0,
      typosquatting: true,
      suspiciousVersion: false,
      suspiciousVersionGraceHours: 24,
      allow: [],
      block: [],
      onUnavailable: 'alert',
      semverHonesty: 'alert',
      lockfileSource: true,
      registries: [],
    });
  });

  it('reads lockfileSource and registries, and rejects registries that are not http(s) URLs', () => {
    const p = validatePolicy(
      { id: 'x', lockfileSource: false, registries: ['https://npm.example.test/'] },
      { file: 'p.json' },
    );
    expect(p).toMatchObject({ lockfileSource: false, registries: ['https://npm.example.test/'] });
    expect(() => validatePolicy({ id: 'x', registries: ['ftp://x/', 'nope'] }, { file: 'p.json' })).toThrow(
      /registries\[0\]: expected an http\(s\) registry URL[\s\S]*registries\[1\]: expected an http\(s\) registry URL/,
    );
  });

  it.each([
    [
      { id: 'x', coolingOffDays: '7d' },
      ['coolingOffDays: expected a number >= 0 (days; 0 disables), got "7d"'],
    ],
    [{ id: 'x', coolingOffDays: -1 }, ['coolingOffDays: expected a number >= 0 (days; 0 disables), got -1']],
    [{ id: 'x', action: 'deny' }, ['action: expected "block" or "alert", got "deny"']],
    [{ id: 'x', onUnavailable: 'pass' }, ['onUnavailable: expected "allow", "alert" or "block", got "pass"']],
    [{ id: 'x', semverHonesty: true }, ['semverHonesty: expected "off", "alert" or "block", got true']],
    [{ id: 'x', typosquatting: 'yes' }, ['typosquatting: expected true or false (typosquatting), got "yes"']],
    [
      { id: 'Bad Id' },
      ['id: expected a policy id (lowercase letters, digits, "-" and "_", up to 63), got "Bad Id"'],
    ],
    [{}, ['id: expected a policy id (lowercase letters, digits, "-" and "_"), got nothing']],
    [{ id: 'x', coolingoffdays: 3 }, ['coolingoffdays: unknown key (did you mean "coolingOffDays"?)']],
    [{ id: 'x', allow: 'lodash' }, ['allow: expected an array of package specs, got "lodash"']],
    [
      { id: 'x', allow: ['Bad Name!'] },
      [
        'allow[0]: expected a package name, "@scope/*", a glob like "eslint-plugin-*" or "name@<semver range>", got "Bad Name!"',
      ],
    ],
    [
      { id: 'x', block: ['lodash@not a range'] },
      ['block[0]: expected a semver range after "@", got "not a range" in "lodash@not a range"'],
    ],
    [
      { id: 'x', allow: [{ package: 'a', expires: 'soon' }] },
      [
        'allow[0].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "soon"',
      ],
    ],
    [
      { id: 'x', allow: [{ package: 'a', expires: '06/30/2027' }] },
      [
        'allow[0].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "06/30/2027"',
      ],
    ],
    [
      { id: 'x', allow: [{ package: 'a', expires: '2027-06-30T12:00' }] },
      [
        'allow[0].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "2027-06-30T12:00"',
      ],
    ],
    [
      { id: 'x', allow: [{ package: 'a', expires: '2027-02-30' }] },
      [
        'allow[0].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "2027-02-30"',
      ],
    ],
    [{ id: 'x', allow: [{ package: 'a', until: '2026-01-01' }] }, ['allow[0].until: unknown key']],
  ])('reports %j', (input, expected) => {
    expect(problemsOf(input)).toEqual(expected);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ id: 'x', coolingOffDays: '7d', action: 'deny', minWeeklyDownloads: null });
    expect(problems).toHaveLength(3);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['action', 'coolingOffDays', 'minWeeklyDownloads']);
  });

  it.each([
    [
      // The README's example: a top-level problem and one inside a list entry.
      { id: 'x', coolingOffDays: '7d', allow: ['lodash', { package: 'x', expires: 'soon' }] },
      [
        'coolingOffDays: expected a number >= 0 (days; 0 disables), got "7d"',
        'allow[1].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "soon"',
      ],
    ],
    [
      {
        id: 'x',
        block: [{ package: 'a@>>1' }],
        allow: [
          { package: 'x', expirs: '2026-01-01' },
          { package: 3 },
          'Bad Name!',
          { package: 'y', reason: 1 },
        ],
        action: 'deny',
      },
      [
        'action: expected "block" or "alert", got "deny"',
        'allow[0].expirs: unknown key',
        'allow[1].package: expected a package spec string, got 3',
        'allow[2]: expected a package name, "@scope/*", a glob like "eslint-plugin-*" or "name@<semver range>", got "Bad Name!"',
        'allow[3].reason: expected a string, got 1',
        'block[0].package: expected a semver range after "@", got ">>1" in "a@>>1"',
      ],
    ],
    [
      { id: 'x', allow: [{ package: 'Bad!', expires: 'soon' }, 7] },
      [
        'allow[0].package: expected a package name, "@scope/*", a glob like "eslint-plugin-*" or "name@<semver range>", got "Bad!"',
        'allow[0].expires: expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got "soon"',
        'allow[1]: expected a package spec string, an object {"package", "reason", "expires"} or {"advisory", "reason", "expires"}, got 7',
      ],
    ],
  ])('reports nested problems together with the others: %j', (input, expected) => {
    expect(problemsOf(input)).toEqual(expected);
  });

  it('names the file and lists problems in the error message', () => {
    expect(() => validatePolicy({ id: 'x', coolingOffDays: '7d' }, { file: 'policies/strict.json' })).toThrow(
      'policies/strict.json: invalid policy, 1 problem:\n  coolingOffDays: expected a number >= 0 (days; 0 disables), got "7d"',
    );
  });

  it('normalizes list entries', () => {
    const p = validatePolicy(
      {
        id: 'x',
        allow: [
          '@myorg/*',
          'eslint-plugin-*',
          '@types/node@>=20',
          { package: 'left-pad@1.3.1', reason: 'vetted', expires: '2026-12-31' },
        ],
      },
      { file: 'p.json' },
    );
    expect(p.allow).toEqual([
      { spec: '@myorg/*', namePattern: '@myorg/*' },
      { spec: 'eslint-plugin-*', namePattern: 'eslint-plugin-*' },
      { spec: '@types/node@>=20', namePattern: '@types/node', range: '>=20' },
      {
        spec: 'left-pad@1.3.1',
        namePattern: 'left-pad',
        range: '1.3.1',
        reason: 'vetted',
        expires: '2026-12-31',
      },
    ]);
  });

  it('round-trips through serializePolicy', () => {
    const p = validatePolicy(
      { id: 'x', allow: ['a', { package: 'b@1', reason: 'r' }], coolingOffDays: 1.5 },
      { file: 'p' },
    );
    expect(validatePolicy(serializePolicy(p), { file: 'p' })).toEqual(p);
    expect(validatePolicy(serializePolicy(DEFAULT_POLICY), { file: 'p' })).toEqual(DEFAULT_POLICY);
  });
});

describe('parsePolicy', () => {
  it('parses YAML by file name', () => {
    const p = parsePolicy('id: strict\naction: alert\ncoolingOffDays: 3\nallow:\n  - lodash\n', {
      file: 'p.yaml',
    });
    expect(p).toMatchObject({ id: 'strict', action: 'alert', coolingOffDays: 3 });
  });

  it('reports invalid JSON with the file name', () => {
    expect(() => parsePolicy('{"id": "x",', { file: 'bad.json' })).toThrow(
      /^bad\.json: invalid policy, 1 problem:\n {2}\(document\): not valid JSON/,
    );
  });

  it('rejects a document that is not an object', () => {
    expect(() => parsePolicy('[1,2]', { file: 'a.json' })).toThrow(
      '(document): expected an object, got [1,2]',
    );
  });

  it('does not let __proto__ keys through', () => {
    expect(() => parsePolicy('{"id":"x","__proto__":{"action":"alert"}}', { file: 'a.json' })).toThrow(
      /__proto__: unknown key/,
    );
  });

  const examples = path.resolve(import.meta.dirname, '../../examples/policies');
  it.each(readdirSync(examples))('example policy %s is valid', (file) => {
    const p = parsePolicy(readFileSync(path.join(examples, file), 'utf8'), { file });
    expect(p.id).toMatch(/^[a-z]/);
  });
});
