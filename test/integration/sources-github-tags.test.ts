import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTagsSource, parseLsRemoteTags, parseNextLink } from '../../src/sources/github-tags-source.js';
import { createHttpClient, type HttpClient } from '../../src/sources/http-client.js';
import { type FakeGitHub, startFakeGitHub } from '../helpers/fake-github.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const TOKEN = 'test-token-123';
const manyTags = Array.from({ length: 250 }, (_, i) => `v1.0.${i}`);

let github: FakeGitHub;
let http: HttpClient;
let delays: number[];

beforeEach(async () => {
  github = await startFakeGitHub({
    requireToken: TOKEN,
    repos: {
      'acme/left-padder': {
        tags: manyTags,
        releases: [{ tag_name: 'v2.0.0', name: 'Version 2' }, { tag_name: 'v1.0.0' }],
      },
      'acme/empty': {},
    },
  });
  delays = [];
  http = createHttpClient({
    // The client's own (long) timeouts: no test here waits for them, and a short one fired on a
    // loaded machine before a healthy answer was read, so a retry added a request to the counts.
    retries: 2,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
});

afterEach(async () => {
  await http.close();
  await github.close();
});

function apiSource(opts: { token?: string; apiUrl?: string; maxPages?: number } = {}) {
  return createTagsSource({
    apiUrl: opts.apiUrl ?? github.url,
    token: opts.token ?? TOKEN,
    gitBaseUrl: 'file:///nonexistent',
    http,
    now: () => NOW,
    ...(opts.maxPages ? { maxPages: opts.maxPages } : {}),
  });
}

describe('GitHub REST API (with a token)', () => {
  it('follows Link pagination over tags (releases are backed by tags, so they are not asked for)', async () => {
    const src = apiSource();
    const res = await src.getTags('acme/left-padder');
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    expect(res.value).toHaveLength(250);
    expect(res.value).toEqual(expect.arrayContaining(['v1.0.0', 'v1.0.249']));
    expect(github.requests.some((r) => r.path.endsWith('/releases'))).toBe(false);
    const tagPages = github.requests.filter((r) => r.path.endsWith('/tags'));
    expect(tagPages.map((r) => new URL(r.url, github.url).searchParams.get('page'))).toEqual([
      null,
      '2',
      '3',
    ]);
    expect(github.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(src.stats().requests).toBe(3);
  });

  it('shares one lookup among concurrent callers and later calls', async () => {
    const src = apiSource();
    const [a, b] = await Promise.all([src.getTags('acme/left-padder'), src.getTags('ACME/Left-Padder')]);
    await src.getTags('acme/left-padder');
    expect(a).toEqual(b);
    expect(github.requests).toHaveLength(3);
    expect(src.stats().cacheHits).toBe(2);
  });

  it('returns an empty list for a repository without tags', async () => {
    expect(await apiSource().getTags('acme/empty')).toEqual({ status: 'ok', value: [] });
  });

  it('says so when pagination hits the cap and the git fallback fails too', async () => {
    const res = await apiSource({ maxPages: 2 }).getTags('acme/left-padder');
    expect(res).toEqual({
      status: 'unavailable',
      source: 'GitHub API',
      reason: expect.stringMatching(
        /^acme\/left-padder has more than 200 tags; stopped after 2 pages; git ls-remote fallback failed: /,
      ),
    });
  });

  it('reports an unknown repository as unavailable, not as having no tags', async () => {
    const res = await apiSource().getTags('acme/gone');
    expect(res).toEqual({
      status: 'unavailable',
      source: 'GitHub API',
      reason: expect.stringMatching(/repos\/acme\/gone\/tags\?per_page=100: repository not found on GitHub$/),
    });
  });

  it('reports an exhausted rate limit with its reset time, without retrying', async () => {
    github.setRateLimit({ remaining: 0, resetEpochSec: Date.parse('2026-03-01T12:42:00Z') / 1000 });
    const res = await apiSource().getTags('acme/left-padder');
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('GitHub API rate limit exhausted until 12:42 UTC (in 42 min)'),
    });
    expect(github.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('retries a secondary rate limit after its short Retry-After', async () => {
    github.fault({
      kind: 'status',
      status: 403,
      headers: { 'retry-after': '1' },
      body: '{"message":"You have exceeded a secondary rate limit."}',
      times: 1,
      match: (r) => r.path.endsWith('/tags'),
    });
    const res = await apiSource().getTags('acme/left-padder');
    expect(res.status).toBe('ok');
    expect(delays).toEqual([1000]);
  });

  it('names a rejected token', async () => {
    const res = await apiSource({ token: 'wrong' }).getTags('acme/left-padder');
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('GitHub token rejected (HTTP 401: Bad credentials)'),
    });
  });

  it('names the API when it is down', async () => {
    const down = await closedPortUrl();
    const res = await apiSource({ apiUrl: down }).getTags('acme/left-padder');
    expect(res).toMatchObject({
      status: 'unavailable',
      source: 'GitHub API',
      reason: expect.stringMatching(
        new RegExp(`^GitHub API ${down}repos/acme/left-padder/\\w+\\?per_page=100: connection refused`),
      ),
    });
  });

  it('does not follow pagination links to another host', async () => {
    github.fault({
      kind: 'status',
      status: 200,
      body: '[{"name":"v1"}]',
      headers: { link: '<http://127.0.0.2:9/repos/acme/left-padder/tags?page=2>; rel="next"' },
      match: (r) => r.path.endsWith('/tags'),
    });
    const res = await apiSource().getTags('acme/left-padder');
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('another host; not followed'),
    });
  });

  it.each([
    ['acme'],
    ['acme/../x'],
    ['acme/..'],
    ['a/b/c'],
    ['-acme/x'],
    ['acme/x y'],
    ['--upload-pack=evil/x'],
  ])('rejects %j without a request', async (repo) => {
    const res = await apiSource().getTags(repo);
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('is not a GitHub owner/repo'),
    });
    expect(github.requests).toHaveLength(0);
  });
});

describe('git ls-remote (without a token)', () => {
  let root: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.test', ...args], {
      cwd,
      stdio: 'pipe',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lw-git-'));
    const bare = join(root, 'server', 'acme', 'left-padder.git');
    const work = join(root, 'work');
    await mkdir(bare, { recursive: true });
    await mkdir(work);
    git(bare, 'init', '--bare', '-q');
    git(work, 'init', '-q');
    git(work, 'commit', '-q', '--allow-empty', '-m', 'one');
    git(work, 'tag', 'v1.0.0');
    git(work, 'tag', '-a', 'v1.1.0', '-m', 'annotated');
    git(work, 'tag', 'release/2.0');
    git(work, 'push', '-q', bare, '--tags');
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const gitSource = () =>
    createTagsSource({
      apiUrl: 'http://127.0.0.1:9/',
      gitBaseUrl: pathToFileURL(join(root, 'server')).href,
      now: () => NOW,
      gitTimeoutMs: 5000,
    });

  it('lists tags with refs/tags/ and ^{} stripped', async () => {
    const src = gitSource();
    const res = await src.getTags('acme/left-padder');
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    expect([...res.value].sort()).toEqual(['release/2.0', 'v1.0.0', 'v1.1.0']);
    expect(src.stats().requests).toBe(1);
  });

  it('falls back to git ls-remote when the API would need too many pages', async () => {
    const api = await startFakeGitHub({ repos: { 'acme/left-padder': { tags: manyTags } } });
    try {
      const src = createTagsSource({
        apiUrl: api.url,
        token: TOKEN,
        gitBaseUrl: pathToFileURL(join(root, 'server')).href,
        now: () => NOW,
        maxPages: 1,
        gitTimeoutMs: 5000,
      });
      const res = await src.getTags('acme/left-padder');
      expect(res.status).toBe('ok');
      if (res.status === 'ok') expect([...res.value].sort()).toEqual(['release/2.0', 'v1.0.0', 'v1.1.0']);
    } finally {
      await api.close();
    }
  });

  it('reports a missing repository as unavailable', async () => {
    const res = await gitSource().getTags('acme/missing');
    expect(res).toMatchObject({
      status: 'unavailable',
      source: 'git ls-remote',
      reason: expect.stringContaining('acme/missing.git: repository not found'),
    });
  });
});

describe('parsers', () => {
  it('parses ls-remote output', () => {
    const out = [
      'aaaa\trefs/tags/v1.0.0',
      'bbbb\trefs/tags/v1.1.0',
      'cccc\trefs/tags/v1.1.0^{}',
      'dddd\trefs/heads/main',
      '',
    ].join('\n');
    expect(parseLsRemoteTags(out)).toEqual(['v1.0.0', 'v1.1.0']);
  });

  it.each([
    ['<http://x/a?page=2>; rel="next", <http://x/a?page=5>; rel="last"', 'http://x/a?page=2'],
    ['<http://x/a?page=1>; rel="prev", <http://x/a?page=3>; rel="next"', 'http://x/a?page=3'],
    ['<http://x/a?page=1>; rel="first"', undefined],
    [undefined, undefined],
  ])('finds the next link in %j', (header, expected) => {
    expect(parseNextLink(header)).toBe(expected);
  });
});

describe('on-disk cache across runs', () => {
  it('reuses a tag list within the TTL and fetches again after it', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'lockwarden-tags-cache-'));
    try {
      let clock = NOW.getTime();
      const source = () =>
        createTagsSource({
          apiUrl: github.url,
          token: TOKEN,
          gitBaseUrl: 'file:///nonexistent',
          http,
          now: () => new Date(clock),
          cacheDir,
          cacheTtlMs: 60_000,
        });
      const first = await source().getTags('acme/left-padder');
      const afterFirst = github.requests.length;
      expect(afterFirst).toBeGreaterThan(0);
      const second = source();
      expect(await second.getTags('acme/left-padder')).toEqual(first);
      expect(github.requests.length).toBe(afterFirst);
      expect(second.stats().cacheHits).toBe(1);
      clock += 61_000;
      expect(await source().getTags('acme/left-padder')).toEqual(first);
      expect(github.requests.length).toBeGreaterThan(afterFirst);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('does not cache a failed lookup', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'lockwarden-tags-cache-'));
    try {
      const source = () =>
        createTagsSource({
          apiUrl: github.url,
          token: TOKEN,
          gitBaseUrl: 'file:///nonexistent',
          http,
          now: () => NOW,
          cacheDir,
        });
      expect((await source().getTags('acme/missing')).status).toBe('unavailable');
      const before = github.requests.length;
      expect((await source().getTags('acme/missing')).status).toBe('unavailable');
      expect(github.requests.length).toBeGreaterThan(before);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('in-process memo for the long-running service', () => {
  it('asks again for a repository a minute after a failure, and an hour after a success', async () => {
    let clock = NOW.getTime();
    const src = createTagsSource({
      apiUrl: github.url,
      token: TOKEN,
      gitBaseUrl: 'file:///nonexistent',
      http,
      now: () => new Date(clock),
    });
    expect((await src.getTags('acme/later')).status).toBe('unavailable');
    github.setRepo('acme/later', { tags: ['v1.0.0'] });
    expect((await src.getTags('acme/later')).status).toBe('unavailable'); // memoized failure
    clock += 61_000;
    expect(await src.getTags('acme/later')).toEqual({ status: 'ok', value: ['v1.0.0'] });
    github.setRepo('acme/later', { tags: ['v1.0.0', 'v1.1.0'] });
    clock += 30 * 60_000;
    expect(await src.getTags('acme/later')).toEqual({ status: 'ok', value: ['v1.0.0'] });
    clock += 31 * 60_000;
    expect(await src.getTags('acme/later')).toEqual({ status: 'ok', value: ['v1.0.0', 'v1.1.0'] });
  });
});
