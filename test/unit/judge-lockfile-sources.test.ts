// Which lockfile URLs npm rewrites to the configured registry (`replace-registry-host`), and so
// which ones the lockfile-source rule lets pass in npm's lockfiles, per setting.
import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import { describe, expect, it } from 'vitest';
import {
  intersectRewrites,
  judgeLockfileSources,
  npmRegistryRewrite,
} from '../../src/engine/judge-lockfile-sources.js';
import type { Verdict } from '../../src/policy/types.js';
import { makeLockfileEntry } from '../helpers/lockfile-builders.js';

// npm's default registry, from npm's own definitions (never written down in this repository).
const NPM_DEFAULT = new URL(
  (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry!.default as string,
);
const CONFIGURED = 'http://127.0.0.1:4873/';
const POLICY = { id: 'p', action: 'block' as const, lockfileSource: true, registries: [] };

const urls = {
  npmDefault: `${NPM_DEFAULT.origin}/a/-/a-1.0.0.tgz`,
  npmDefaultOtherScheme: `http://${NPM_DEFAULT.host}:8080/a/-/a-1.0.0.tgz`,
  old: 'https://old.example.test/a/-/a-1.0.0.tgz',
  oldUnderPath: 'https://old.example.test/npm/a/-/a-1.0.0.tgz',
  oldOtherPort: 'http://old.example.test:8443/npm/a/-/a-1.0.0.tgz',
  oldSiblingPath: 'https://old.example.test/npm-other/a/-/a-1.0.0.tgz',
  evil: 'https://evil.example.test/a/-/a-1.0.0.tgz',
  configured: `${CONFIGURED}a/-/a-1.0.0.tgz`,
  git: 'git+ssh://git@evil.example.test/a.git',
};
type Which = keyof typeof urls;

/** The URLs flagged under `setting`, for an entry in `file`. */
function flagged(setting: string | readonly string[] | undefined, file = 'package-lock.json'): Which[] {
  const names = Object.keys(urls) as Which[];
  const entries = names.map((which) =>
    makeLockfileEntry({
      name: 'a',
      version: '1.0.0',
      resolved: urls[which],
      integrity: 'sha512-abc==',
      locations: [{ file, line: 1, key: which }],
    }),
  );
  const verdicts: Verdict[] = entries.map(() => ({
    name: 'a',
    version: '1.0.0',
    decision: 'allow',
    findings: [],
    notices: [],
  }));
  const judged = judgeLockfileSources(verdicts, entries, POLICY, [CONFIGURED], setting);
  return names.filter((_, i) => judged[i]!.findings.some((f) => f.rule === 'lockfile-source'));
}

describe('npm lockfiles under replace-registry-host', () => {
  it.each<[string, string | undefined, Which[]]>([
    // npmjs (the default): npm's default registry's host name, any scheme or port.
    [
      'unset (npm’s default, npmjs)',
      undefined,
      ['old', 'oldUnderPath', 'oldOtherPort', 'oldSiblingPath', 'evil', 'git'],
    ],
    ['npmjs', 'npmjs', ['old', 'oldUnderPath', 'oldOtherPort', 'oldSiblingPath', 'evil', 'git']],
    // never: fetched as written, so npm's default registry is just another host.
    [
      'never',
      'never',
      [
        'npmDefault',
        'npmDefaultOtherScheme',
        'old',
        'oldUnderPath',
        'oldOtherPort',
        'oldSiblingPath',
        'evil',
        'git',
      ],
    ],
    // always: every http(s) URL goes to the configured registry; a git URL is not a registry URL.
    ['always', 'always', ['git']],
    // a host name: that host instead of npm's default, whatever the scheme, port or path.
    ['a host name', 'old.example.test', ['npmDefault', 'npmDefaultOtherScheme', 'evil', 'git']],
    // a URL: its host name under its path prefix (scheme and port aside, as npm compares them).
    [
      'a URL with a path',
      'https://old.example.test/npm/',
      ['npmDefault', 'npmDefaultOtherScheme', 'old', 'oldSiblingPath', 'evil', 'git'],
    ],
    [
      'a URL without a path',
      'https://old.example.test',
      ['npmDefault', 'npmDefaultOtherScheme', 'evil', 'git'],
    ],
  ])('%s', (_what, setting, expected) => {
    expect(flagged(setting)).toEqual(expected);
  });

  it.each(['yarn.lock', 'pnpm-lock.yaml', 'bun.lock'])(
    'does not apply to %s: other clients fetch what the lockfile says',
    (file) => {
      for (const setting of [undefined, 'always', 'old.example.test']) {
        expect(flagged(setting, file)).toEqual(
          (Object.keys(urls) as Which[]).filter((w) => w !== 'configured'),
        );
      }
    },
  );

  it.each<[string | undefined, unknown]>([
    [undefined, { hostname: NPM_DEFAULT.hostname }],
    ['', { hostname: NPM_DEFAULT.hostname }],
    ['npmjs', { hostname: NPM_DEFAULT.hostname }],
    ['never', undefined],
    ['always', { all: true }],
    ['old.example.test', { hostname: 'old.example.test' }],
    ['https://old.example.test/npm/', { hostname: 'old.example.test', pathPrefix: '/npm' }],
    // Parsed as a URL with scheme `old.example.test:`, as npm parses it: no host name matches.
    ['old.example.test:8443', { hostname: '', pathPrefix: '8443' }],
  ])('npmRegistryRewrite(%j)', (setting, rewrite) => {
    expect(npmRegistryRewrite(setting)).toEqual(rewrite);
  });
});

describe('copies of one entry that record different sources', () => {
  const loc = (file: string, line: number) => ({ file, line, key: `k${line}` });
  const judge = (entry: ReturnType<typeof makeLockfileEntry>, setting?: string) =>
    judgeLockfileSources(
      [{ name: 'a', version: '1.0.0', decision: 'allow', findings: [], notices: [] }],
      [entry],
      POLICY,
      [CONFIGURED],
      setting,
    )[0]!.findings.map((f) => ({
      observed: f.observed,
      locations: (f as { locations?: unknown }).locations,
    }));

  it('judges every copy, each finding at the copies that record it', () => {
    const entry = makeLockfileEntry({
      name: 'a',
      version: '1.0.0',
      resolved: urls.configured,
      integrity: 'sha512-abc==',
      locations: [loc('package-lock.json', 3), loc('package-lock.json', 9), loc('package-lock.json', 15)],
      sources: [
        { location: loc('package-lock.json', 3), resolved: urls.configured, integrity: 'sha512-abc==' },
        { location: loc('package-lock.json', 9), resolved: urls.evil, integrity: 'sha512-abc==' },
        { location: loc('package-lock.json', 15), resolved: urls.evil, integrity: 'sha512-abc==' },
      ],
    });
    expect(judge(entry)).toEqual([
      {
        observed: 'https://evil.example.test',
        locations: [loc('package-lock.json', 9), loc('package-lock.json', 15)],
      },
    ]);
  });

  it("applies npm's rewrite to the copies in npm's lockfile only", () => {
    const entry = makeLockfileEntry({
      name: 'a',
      version: '1.0.0',
      resolved: urls.npmDefault,
      integrity: 'sha512-abc==',
      locations: [loc('package-lock.json', 3), loc('yarn.lock', 7)],
      sources: [
        { location: loc('package-lock.json', 3), resolved: urls.npmDefault, integrity: 'sha512-abc==' },
        { location: loc('yarn.lock', 7), resolved: urls.npmDefault, integrity: 'sha1-abc=' },
      ],
    });
    expect(judge(entry)).toEqual([
      { observed: `${NPM_DEFAULT.protocol}//${NPM_DEFAULT.host}`, locations: [loc('yarn.lock', 7)] },
    ]);
  });

  it('an entry whose copies agree keeps all its locations (none set on the finding)', () => {
    const entry = makeLockfileEntry({
      name: 'a',
      version: '1.0.0',
      resolved: urls.evil,
      integrity: 'sha512-abc==',
    });
    expect(judge(entry)).toEqual([{ observed: 'https://evil.example.test', locations: undefined }]);
  });
});

describe('several settings (the base’s and a pull request’s): a URL passes only if each rewrites it', () => {
  it.each<[string[], Which[]]>([
    [['always', 'never'], Object.keys(urls).filter((w) => w !== 'configured') as Which[]],
    [
      ['always', 'old.example.test'],
      ['npmDefault', 'npmDefaultOtherScheme', 'evil', 'git'],
    ],
    [
      ['https://old.example.test/npm', 'old.example.test'],
      ['npmDefault', 'npmDefaultOtherScheme', 'old', 'oldSiblingPath', 'evil', 'git'],
    ],
    [['old.example.test', 'npmjs'], Object.keys(urls).filter((w) => w !== 'configured') as Which[]],
    [['always', 'always'], ['git']],
  ])('%j', (settings, expected) => {
    expect(flagged(settings)).toEqual(expected);
  });

  it.each<[unknown, unknown, unknown]>([
    [{ all: true }, { hostname: 'h' }, { hostname: 'h' }],
    [
      { hostname: 'h', pathPrefix: '/a/b' },
      { hostname: 'h', pathPrefix: '/a' },
      { hostname: 'h', pathPrefix: '/a/b' },
    ],
    [{ hostname: 'h', pathPrefix: '/a' }, { hostname: 'h', pathPrefix: '/ab' }, undefined],
    [{ hostname: 'h' }, { hostname: 'g' }, undefined],
    [undefined, { all: true }, undefined],
  ])('intersectRewrites(%j, %j)', (a, b, expected) => {
    type R = Parameters<typeof intersectRewrites>[0];
    expect(intersectRewrites(a as R, b as R)).toEqual(expected);
    expect(intersectRewrites(b as R, a as R)).toEqual(expected);
  });
});
