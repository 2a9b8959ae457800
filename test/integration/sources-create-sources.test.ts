import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLockwardenError } from '../../src/errors.js';
import { createSources, resolveSourceConfig } from '../../src/sources/create-sources.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeGitHub, startFakeGitHub } from '../helpers/fake-github.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';

const NOW = new Date('2026-03-01T12:00:00Z');

let root: string;
let registry: FakeRegistry;
let downloads: FakeDownloads;
let github: FakeGitHub;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lw-create-'));
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'left-padder',
        versions: [
          {
            version: '1.0.0',
            publishedAt: new Date('2026-01-01T00:00:00Z'),
            repository: 'github:acme/left-padder',
          },
        ],
      }),
    ],
  });
  downloads = await startFakeDownloads({ counts: { 'left-padder': 5000 } });
  github = await startFakeGitHub({
    requireToken: 'gh-token',
    repos: { 'acme/left-padder': { tags: ['v1.0.0'] } },
  });
});

afterAll(async () => {
  await Promise.all([registry.close(), downloads.close(), github.close()]);
  await rm(root, { recursive: true, force: true });
});

/** An environment that never reaches the real machine's npm or cache configuration. */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    HOME: root,
    npm_config_userconfig: join(root, 'user-npmrc'),
    npm_config_globalconfig: join(root, 'global-npmrc'),
    LOCKWARDEN_CACHE_DIR: join(root, 'cache'),
    ...extra,
  };
}

describe('resolveSourceConfig', () => {
  it('uses defaults and the npm-configured registry with its token', async () => {
    await writeFile(
      join(root, 'user-npmrc'),
      `registry=${registry.url}\n//127.0.0.1:${registry.port}/:_authToken=npm-secret\n`,
    );
    try {
      const config = await resolveSourceConfig({ flags: {}, env: isolatedEnv(), cwd: root });
      expect(config).toMatchObject({
        registryUrl: registry.url,
        registryAuthorization: 'Bearer npm-secret',
        downloadsUrl: 'https://api.npmjs.org/',
        githubApiUrl: 'https://api.github.com/',
        gitBaseUrl: 'https://github.com',
        cacheDir: join(root, 'cache'),
        http: {},
      });
      expect(config.githubToken).toBeUndefined();
    } finally {
      await rm(join(root, 'user-npmrc'), { force: true });
    }
  });

  it('lets flags beat the environment and the environment beat defaults', async () => {
    const env = isolatedEnv({
      npm_config_registry: 'http://127.0.0.1:1/',
      LOCKWARDEN_DOWNLOADS_URL: 'http://127.0.0.1:2',
      GITHUB_API_URL: 'http://127.0.0.1:3/api/v3',
      GITHUB_SERVER_URL: 'http://127.0.0.1:4/',
      GITHUB_TOKEN: 'env-token',
    });
    const fromEnv = await resolveSourceConfig({ flags: {}, env, cwd: root });
    expect(fromEnv).toMatchObject({
      registryUrl: 'http://127.0.0.1:1/',
      downloadsUrl: 'http://127.0.0.1:2/',
      githubApiUrl: 'http://127.0.0.1:3/api/v3/',
      gitBaseUrl: 'http://127.0.0.1:4',
      githubToken: 'env-token',
    });
    const fromFlags = await resolveSourceConfig({
      flags: {
        registry: 'http://127.0.0.1:5',
        downloadsUrl: 'http://127.0.0.1:6/',
        githubApiUrl: 'http://127.0.0.1:7/',
        githubToken: 'flag-token',
        cacheDir: join(root, 'flag-cache'),
        timeoutMs: 500,
      },
      env,
      cwd: root,
    });
    expect(fromFlags).toMatchObject({
      registryUrl: 'http://127.0.0.1:5/',
      downloadsUrl: 'http://127.0.0.1:6/',
      githubApiUrl: 'http://127.0.0.1:7/',
      githubToken: 'flag-token',
      cacheDir: join(root, 'flag-cache'),
      http: { headersTimeoutMs: 500, bodyTimeoutMs: 500 },
    });
    const noCache = await resolveSourceConfig({ flags: { noCache: true }, env, cwd: root });
    expect(noCache.cacheDir).toBeUndefined();
  });

  it('does not look up the registry when the policy does not need it', async () => {
    const config = await resolveSourceConfig({
      flags: {},
      env: isolatedEnv(),
      cwd: root,
      needsRegistry: false,
    });
    expect(config.registryUrl).toBeUndefined();
  });

  it.each([
    [{ registry: 'nope' }, {}, /registry URL \(--registry\) "nope" is not a valid URL/],
    [{ downloadsUrl: 'ftp://127.0.0.1/' }, {}, /downloads API URL \(--downloads-url\) .* must be http/],
    [{}, { GITHUB_API_URL: 'not a url' }, /GitHub API URL \(GITHUB_API_URL\) "not a url" is not a valid URL/],
  ])('rejects bad URLs naming where they came from (%j %j)', async (flags, extraEnv, message) => {
    const err = await resolveSourceConfig({
      flags,
      env: isolatedEnv({ npm_config_registry: 'http://127.0.0.1:1/', ...extraEnv }),
      cwd: root,
    }).catch((e: unknown) => e);
    expect(isLockwardenError(err) && err.code).toBe('ECONFIG');
    expect((err as Error).message).toMatch(message);
  });
});

describe('createSources', () => {
  it('wires every source to its upstream', async () => {
    const config = await resolveSourceConfig({
      flags: {
        registry: registry.url,
        downloadsUrl: downloads.url,
        githubApiUrl: github.url,
        githubToken: 'gh-token',
        noCache: true,
      },
      env: isolatedEnv(),
      cwd: root,
    });
    const sources = createSources(config, { now: () => NOW });
    try {
      expect(await sources.registry.getPackument('left-padder', { full: true })).toMatchObject({
        status: 'ok',
      });
      expect((await sources.downloads.getWeeklyDownloads(['left-padder'])).get('left-padder')).toEqual({
        status: 'ok',
        value: { count: 5000, origin: 'api' },
      });
      expect(await sources.tags.getTags('acme/left-padder')).toEqual({ status: 'ok', value: ['v1.0.0'] });
      expect(sources.popular.packages.length).toBeGreaterThan(0);
    } finally {
      await sources.close();
    }
  });

  it('resolves a deferred registry on first use', async () => {
    const config = await resolveSourceConfig({
      flags: { noCache: true },
      env: isolatedEnv({ npm_config_registry: registry.url }),
      cwd: root,
      needsRegistry: false,
    });
    const sources = createSources(config, { now: () => NOW, popular: { asOf: '2026-01-01', packages: [] } });
    try {
      const before = registry.requests.length;
      expect(sources.registry.url).toBe('the registry npm is configured with');
      expect(await sources.registry.getManifest('left-padder', '1.0.0')).toMatchObject({ status: 'ok' });
      expect(sources.registry.url).toBe(registry.url);
      expect(registry.requests.length).toBe(before + 1);
    } finally {
      await sources.close();
    }
  });
});

describe('@scope:registry', () => {
  it('asks a scope with its own registry there, with that registry token, and everything else of the default', async () => {
    const privateRegistry = await startFakeRegistry({
      packuments: [
        makePackument({ name: '@corp/utils', versions: [{ version: '2.0.0', publishedAt: NOW }] }),
      ],
    });
    try {
      const project = await mkdtemp(join(root, 'scoped-'));
      await writeFile(
        join(project, '.npmrc'),
        [
          `registry=${registry.url}`,
          `@corp:registry=${privateRegistry.url}`,
          `//127.0.0.1:${privateRegistry.port}/:_authToken=corp-secret`,
        ].join('\n'),
      );
      const config = await resolveSourceConfig({ flags: {}, env: isolatedEnv(), cwd: project });
      expect(config.scopeRegistries).toEqual([
        { scope: '@corp', url: privateRegistry.url, authorization: 'Bearer corp-secret' },
      ]);
      const sources = createSources(config, { now: () => NOW });
      try {
        expect((await sources.registry.getPackument('@corp/utils', { full: true })).status).toBe('ok');
        expect((await sources.registry.getPackument('left-padder', { full: true })).status).toBe('ok');
        expect(privateRegistry.requests.map((r) => r.headers.authorization)).toEqual(['Bearer corp-secret']);
        expect(registry.requests.some((r) => r.path.includes('corp'))).toBe(false);
      } finally {
        await sources.close();
      }
    } finally {
      await privateRegistry.close();
    }
  });
});
