import { describe, expect, it } from 'vitest';
import { evaluateLockfileSource } from '../../src/policy/lockfile-source.js';

const REGISTRY = 'http://127.0.0.1:4873/';
const PROXY = 'https://npm.example.test/strict~ci/';
const ctx = (overrides: { lockfileSource?: boolean; action?: 'block' | 'alert' } = {}) => ({
  policy: {
    id: 'p',
    action: overrides.action ?? ('block' as const),
    lockfileSource: overrides.lockfileSource ?? true,
  },
  registries: [REGISTRY, PROXY],
});

describe('evaluateLockfileSource', () => {
  it.each([
    ['on the configured registry', `${REGISTRY}a/-/a-1.0.0.tgz`, 'sha512-x', []],
    ['under a listed registry path', `${PROXY}a/-/a-1.0.0.tgz`, 'sha512-x', []],
    ['no resolved: fetched from the configured registry by name', undefined, undefined, []],
    ['no resolved, with integrity', undefined, 'sha512-x', []],
    ['another host', 'https://evil.example.test/a/-/a-1.0.0.tgz', 'sha512-x', ['https://evil.example.test']],
    [
      'same host, another path than the listed one',
      'https://npm.example.test/other/a/-/a-1.0.0.tgz',
      'sha512-x',
      ['https://npm.example.test'],
    ],
    [
      'same host, another scheme',
      'https://127.0.0.1:4873/a/-/a-1.0.0.tgz',
      'sha512-x',
      ['https://127.0.0.1:4873'],
    ],
    ['another port', 'http://127.0.0.1:4874/a/-/a-1.0.0.tgz', 'sha512-x', ['http://127.0.0.1:4874']],
    [
      'credentials are not echoed',
      'https://u:pw@evil.example.test/a.tgz',
      'sha512-x',
      ['https://evil.example.test'],
    ],
    ['not a URL', 'not a url', 'sha512-x', ['an unparsable URL']],
    ['a git URL', 'git+ssh://git@evil.example.test/a.git', 'sha512-x', ['an unparsable URL']],
    ['on the registry without integrity', `${REGISTRY}a/-/a-1.0.0.tgz`, undefined, [null]],
    [
      'elsewhere without integrity',
      'https://evil.example.test/a.tgz',
      '',
      ['https://evil.example.test', null],
    ],
  ])('%s', (_what, resolved, integrity, observed) => {
    const findings = evaluateLockfileSource(
      {
        name: 'a',
        version: '1.0.0',
        ...(resolved === undefined ? {} : { resolved }),
        ...(integrity === undefined ? {} : { integrity }),
      },
      ctx(),
    );
    expect(findings.map((f) => f.observed)).toEqual(observed);
    for (const f of findings) {
      expect(f).toMatchObject({
        rule: 'lockfile-source',
        effect: 'block',
        outcome: 'block',
        scope: 'version',
      });
      expect(f.message).not.toContain('pw@');
      expect(f.hint).toMatch(/npm install a@1\.0\.0/);
    }
  });

  // What pins the bytes: a hash a client checks. SHA-1 (yarn 1's `#<sha1>` fragment, carried as
  // `sha1-`, or npm's old `sha1-` integrity) is one: the client verifies it.
  it.each([
    ['sha512', 'sha512-abc==', []],
    ['sha256', 'sha256-abc=', []],
    ['sha1 alone', 'sha1-ASNFZ4mrze8BI0VniavN7wEjRWc=', []],
    ['sha1 beside sha512', 'sha1-ASNFZ4mrze8BI0VniavN7wEjRWc= sha512-abc==', []],
    ['sha512 with options, then sha1', 'sha512-abc==?foo sha1-abc=', []],
    ['no integrity', undefined, [[null, 'block']]],
    ['empty integrity', '', [[null, 'block']]],
    ['an algorithm no client checks', 'md5-abc==', [[null, 'block']]],
    ['not an SRI string', 'deadbeef', [[null, 'block']]],
  ])('integrity: %s', (_what, integrity, expected) => {
    const findings = evaluateLockfileSource(
      {
        name: 'a',
        version: '1.0.0',
        resolved: `${REGISTRY}a/-/a-1.0.0.tgz`,
        ...(integrity === undefined ? {} : { integrity }),
      },
      ctx(),
    );
    expect(findings.map((f) => [f.observed, f.effect])).toEqual(expected);
    for (const f of findings) {
      expect(f.outcome).toBe(f.effect);
      expect(f.message).toMatch(/nothing pins the bytes/);
    }
  });

  it("yarn Berry's checksum pins the content: no integrity finding, the host is still judged", () => {
    const berry = (resolved: string) =>
      evaluateLockfileSource({ name: 'a', version: '1.0.0', resolved, checksum: '10c0/abcd' }, ctx()).map(
        (f) => f.observed,
      );
    expect(berry(`${REGISTRY}a/-/a-1.0.0.tgz`)).toEqual([]);
    expect(berry('https://evil.example.test/a.tgz')).toEqual(['https://evil.example.test']);
  });

  it('a SHA-1 pin on another host: the host is the finding, not the hash', () => {
    const entry = {
      name: 'a',
      version: '1.0.0',
      resolved: 'https://evil.example.test/a.tgz',
      integrity: 'sha1-abc=',
    };
    expect(evaluateLockfileSource(entry, ctx()).map((f) => f.observed)).toEqual([
      'https://evil.example.test',
    ]);
  });

  it('follows the policy action and can be turned off', () => {
    const entry = {
      name: 'a',
      version: '1.0.0',
      resolved: 'https://evil.example.test/a.tgz',
      integrity: 'x',
    };
    expect(evaluateLockfileSource(entry, ctx({ action: 'alert' }))[0]).toMatchObject({ effect: 'alert' });
    expect(evaluateLockfileSource(entry, ctx({ lockfileSource: false }))).toEqual([]);
  });
});
