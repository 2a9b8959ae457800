import { describe, expect, it } from 'vitest';
import { evaluateLockfileSource } from '../../src/policy/lockfile-source.js';
import { readTarballUrl } from '../../src/policy/read-tarball-url.js';

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
  // A URL on a trusted registry that names another package's (or version's) tarball: the install
  // gets those bytes while every other rule judges the entry's name@version.
  it.each<[string, string, string, string, string | null]>([
    ['its own tarball', 'innocent', '1.0.0', `${REGISTRY}innocent/-/innocent-1.0.0.tgz`, null],
    ['its own, under a path prefix', 'innocent', '1.0.0', `${PROXY}innocent/-/innocent-1.0.0.tgz`, null],
    ['its own, scoped', '@acme/x', '1.0.0', `${REGISTRY}@acme/x/-/x-1.0.0.tgz`, null],
    ['its own, scoped name escaped', '@acme/x', '1.0.0', `${REGISTRY}@acme%2fx/-/x-1.0.0.tgz`, null],
    [
      'its own, scoped file name (Artifactory)',
      '@acme/x',
      '1.0.0',
      `${REGISTRY}@acme/x/-/@acme/x-1.0.0.tgz`,
      null,
    ],
    [
      'its own, with a yarn 1 #sha1 fragment',
      'a-b',
      '1.0.0-rc.1',
      `${REGISTRY}a-b/-/a-b-1.0.0-rc.1.tgz#0123abcd`,
      null,
    ],
    [
      'the same name, another version',
      'innocent',
      '1.0.0',
      `${REGISTRY}innocent/-/innocent-1.0.1.tgz`,
      'innocent@1.0.1',
    ],
    ['another name', 'innocent', '1.0.0', `${REGISTRY}evil/-/evil-9.9.9.tgz`, 'evil@9.9.9'],
    ['another name, same version', 'innocent', '1.0.0', `${PROXY}evil/-/evil-1.0.0.tgz`, 'evil@1.0.0'],
    [
      'a scoped package for an unscoped entry',
      'x',
      '1.0.0',
      `${REGISTRY}@evil/x/-/x-1.0.0.tgz`,
      '@evil/x@1.0.0',
    ],
    ['another scope', '@acme/x', '1.0.0', `${REGISTRY}@evil/x/-/x-1.0.0.tgz`, '@evil/x@1.0.0'],
    ['the unscoped twin of a scoped entry', '@acme/x', '1.0.0', `${REGISTRY}x/-/x-1.0.0.tgz`, 'x@1.0.0'],
    [
      'a scoped entry, another version',
      '@acme/x',
      '1.0.0',
      `${REGISTRY}@acme/x/-/x-2.0.0.tgz`,
      '@acme/x@2.0.0',
    ],
    // Layouts that do not say what they fetch cannot be compared: the reader warns instead.
    ['a download path (unreadable)', 'innocent', '1.0.0', `${REGISTRY}download/evil/9.9.9/abcdef`, null],
    [
      'a file not named after its directory (unreadable)',
      'innocent',
      '1.0.0',
      `${REGISTRY}innocent/-/evil-9.9.9.tgz`,
      null,
    ],
    [
      'no version in the file name (unreadable)',
      'innocent',
      '1.0.0',
      `${REGISTRY}innocent/-/innocent-latest.tgz`,
      null,
    ],
  ])('tarball: %s', (_what, name, version, resolved, fetched) => {
    const spec = `${name}@${version}`;
    for (const action of ['block', 'alert'] as const) {
      const findings = evaluateLockfileSource(
        { name, version, resolved, integrity: 'sha512-x' },
        ctx({ action }),
      );
      expect(findings.map((f) => f.observed)).toEqual(fetched === null ? [] : [fetched]);
      for (const f of findings) {
        expect(f).toMatchObject({ name, version, rule: 'lockfile-source', effect: action, outcome: action });
        expect(f.message).toContain(`${spec} is fetched from the tarball of ${fetched}`);
        expect(f.threshold).toBe(`the tarball of ${spec}`);
        expect(f.hint).toContain(`npm install ${spec}`);
      }
    }
    expect(
      evaluateLockfileSource(
        { name, version, resolved, integrity: 'sha512-x' },
        ctx({ lockfileSource: false }),
      ),
    ).toEqual([]);
  });

  it('another package on another host: both the host and the tarball are findings', () => {
    const entry = {
      name: 'a',
      version: '1.0.0',
      resolved: 'https://evil.example.test/evil/-/evil-1.0.0.tgz',
      integrity: 'sha512-x',
    };
    expect(evaluateLockfileSource(entry, ctx()).map((f) => f.observed)).toEqual([
      'https://evil.example.test',
      'evil@1.0.0',
    ]);
  });

  it.each([
    ['http://h/a/-/a-1.0.0.tgz', { name: 'a', version: '1.0.0', tarball: 'a/-/a-1.0.0.tgz' }],
    ['http://h/p/@s/a/-/a-1.0.0.tgz?x=1', { name: '@s/a', version: '1.0.0', tarball: '@s/a/-/a-1.0.0.tgz' }],
    [
      'http://h/a-b/-/a-b-1.0.0+build.1.tgz',
      { name: 'a-b', version: '1.0.0+build.1', tarball: 'a-b/-/a-b-1.0.0+build.1.tgz' },
    ],
    ['http://h/-/a-1.0.0.tgz', { unreadable: 'resolves to /-/a-1.0.0.tgz' }],
    ['http://h/a/-/a-1.0.0.zip', { unreadable: 'resolves to a/-/a-1.0.0.zip' }],
    ['http://h/a/-/a-b-1.0.0.tgz', { unreadable: 'resolves to a/-/a-b-1.0.0.tgz' }],
    ['http://h/a-1.0.0.tgz', { unreadable: 'is not a registry tarball URL' }],
    ['http://h', { unreadable: 'is not a registry tarball URL' }],
    ['http://h/a/-/a-%E0.tgz', { unreadable: 'has an unparseable URL' }],
  ])('readTarballUrl(%s)', (url, expected) => {
    expect(readTarballUrl(url)).toEqual(expected);
  });
});
