// Tag and release names of a GitHub repository, for the suspicious-version check. With a token
// the REST API is used (tags, paginated; releases are backed by tags); without one, `git ls-remote --tags`, which
// needs no token and has no API rate limit. Lookups are shared per repository for the whole run.
import type { Fact } from '../policy/types.js';
import { createDiskCache } from './disk-cache.js';
import { githubHeaders, shouldRetryGitHub } from './github-rest.js';
import { createHttpClient, type HttpClient, type HttpHeaders } from './http-client.js';
import type { SourceStats, TagsSource } from './types.js';

export interface TagsSourceOptions {
  /** GitHub REST API base (`GITHUB_API_URL`). */
  apiUrl: string;
  /** With a token the REST API is used; without, `git ls-remote`. */
  token?: string;
  /** Where `<owner>/<repo>.git` lives for `git ls-remote` (`GITHUB_SERVER_URL`). */
  gitBaseUrl: string;
  http?: HttpClient;
  now?: () => Date;
  /** Pages of tags before giving up on a repository. */
  maxPages?: number;
  gitTimeoutMs?: number;
  /** Environment for the `git` child process (PATH, HOME, proxy settings). */
  env?: NodeJS.ProcessEnv;
  /** On-disk cache directory; tag lists are reused across runs for `cacheTtlMs`. */
  cacheDir?: string;
  cacheTtlMs?: number;
}

const API_SOURCE = 'GitHub API';
const GIT_SOURCE = 'git ls-remote';
const PER_PAGE = 100;
const DEFAULT_MAX_PAGES = 30;
const DEFAULT_GIT_TIMEOUT_MS = 20_000;
// Tags of published versions rarely change; a new tag pushed late is covered by the grace period
// after publish. An hour keeps warm runs off the API without hiding a fresh release for long.
const DEFAULT_CACHE_TTL_MS = 3600_000;
const FAILURE_TTL_MS = 60_000;
const MAX_MEMO_ENTRIES = 20_000;
// GitHub's own rules for owner and repository names; anything else never reaches a URL or argv.
const REPO_PATTERN = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

type Lookup =
  | { ok: true; names: string[] }
  | { ok: false; source: string; reason: string; tooMany?: boolean };

export function createTagsSource(options: TagsSourceOptions): TagsSource {
  const apiUrl = options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`;
  const apiOrigin = new URL(apiUrl).origin;
  const gitBaseUrl = options.gitBaseUrl.replace(/\/+$/, '');
  const http = options.http ?? createHttpClient();
  const now = options.now ?? (() => new Date());
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  // Shared lookups: one per repository at a time. A run of `lockwarden audit` ends long before the
  // TTLs do; the long-running service must not keep a tag list (or a failure) forever.
  const memo = new Map<string, { lookup: Promise<Fact<string[]>>; expiresAtMs: number }>();
  const cache = options.cacheDir ? createDiskCache(options.cacheDir) : undefined;
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  // API and git answers are kept apart: a token can see private repositories git cannot.
  const cacheNamespace = options.token ? `tags:${apiOrigin}` : `tags:${gitBaseUrl}`;

  async function lookupCached(owner: string, repo: string, key: string): Promise<Lookup> {
    const cached = await cache?.read(cacheNamespace, key);
    if (cached && now().getTime() - cached.fetchedAtMs < cacheTtlMs) {
      try {
        const names = JSON.parse(cached.body.toString('utf8')) as unknown;
        if (Array.isArray(names) && names.every((n) => typeof n === 'string')) {
          stats.cacheHits++;
          return { ok: true, names };
        }
      } catch {
        // a corrupt entry is a miss
      }
    }
    const result = await (options.token ? viaApi(owner, repo) : viaGit(owner, repo));
    if (result.ok && cache) {
      await cache.write(cacheNamespace, key, {
        body: Buffer.from(JSON.stringify([...new Set(result.names)])),
        fetchedAtMs: now().getTime(),
      });
    }
    return result;
  }

  async function listAll(owner: string, repo: string, kind: 'tags'): Promise<Lookup> {
    const names: string[] = [];
    let next: string | undefined = `${apiUrl}repos/${owner}/${repo}/${kind}?per_page=${PER_PAGE}`;
    for (let page = 1; next; page++) {
      if (page > maxPages) {
        stats.errors++;
        return {
          ok: false,
          source: API_SOURCE,
          reason: `${owner}/${repo} has more than ${maxPages * PER_PAGE} ${kind}; stopped after ${maxPages} pages`,
          tooMany: true,
        };
      }
      const url: string = next;
      const res = await http.request({
        url,
        source: API_SOURCE,
        stats,
        headers: githubHeaders('application/vnd.github+json', options.token),
        shouldRetry: shouldRetryGitHub,
      });
      if (res.status === 'unavailable') return { ok: false, source: res.source, reason: res.reason };
      if (res.statusCode !== 200)
        return fail(
          API_SOURCE,
          `${API_SOURCE} ${url}: ${describeStatus(res.statusCode, res.headers, res.body, now())}`,
        );
      let items: unknown;
      try {
        items = JSON.parse(res.body.toString('utf8'));
      } catch {
        return fail(API_SOURCE, `${API_SOURCE} ${url}: invalid JSON from GitHub API`);
      }
      if (!Array.isArray(items)) return fail(API_SOURCE, `${API_SOURCE} ${url}: expected a JSON array`);
      for (const item of items) {
        if (typeof item !== 'object' || item === null) continue;
        const record = item as Record<string, unknown>;
        for (const field of kind === 'tags' ? ['name'] : ['tag_name', 'name']) {
          const value = record[field];
          if (typeof value === 'string' && value !== '') names.push(value);
        }
      }
      next = parseNextLink(res.headers.link);
      // Pagination links are followed only within the API the user configured.
      if (next && new URL(next, url).origin !== apiOrigin) {
        return fail(API_SOURCE, `${API_SOURCE} ${url}: pagination link points to another host; not followed`);
      }
      if (next) next = new URL(next, url).href;
    }
    return { ok: true, names };
  }

  function fail(source: string, reason: string): Lookup {
    stats.errors++;
    return { ok: false, source, reason };
  }

  async function viaApi(owner: string, repo: string): Promise<Lookup> {
    // Every published GitHub release is backed by a tag of the same name (drafts are not public),
    // so the tag list already covers releases; asking for releases too would double the requests.
    const listed = await listAll(owner, repo, 'tags');
    if (listed.ok || !listed.tooMany) return listed;
    // Repositories with thousands of tags (canary releases, monorepos) would cost dozens of API
    // pages; `git ls-remote` lists every tag in one round trip.
    const viaRemote = await viaGit(owner, repo);
    return viaRemote.ok
      ? viaRemote
      : {
          ok: false,
          source: API_SOURCE,
          reason: `${listed.reason}; git ls-remote fallback failed: ${viaRemote.reason}`,
        };
  }

  async function viaGit(owner: string, repo: string): Promise<Lookup> {
    const remote = `${gitBaseUrl}/${owner}/${repo}.git`;
    const timeoutMs = options.gitTimeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    stats.requests++;
    // Loaded here, not at start-up: child_process (with dgram and the rest it loads) cost every
    // `lockwarden check` ~1.5 ms, and only a tag lookup without a GitHub token runs git.
    const { execFile } = await import('node:child_process');
    return new Promise((resolve) => {
      execFile(
        'git',
        ['ls-remote', '--tags', '--', remote],
        {
          timeout: timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
          // Never wait for a credential prompt: a private or missing repository must fail fast.
          env: { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' },
        },
        (err, stdout, stderr) => {
          stats.bytes += Buffer.byteLength(stdout);
          if (!err) return resolve({ ok: true, names: parseLsRemoteTags(stdout) });
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          let why: string;
          if (e.code === 'ENOENT')
            why = 'git is not installed (set GITHUB_TOKEN to use the GitHub API instead)';
          else if (e.killed) why = `timed out after ${timeoutMs} ms`;
          else if (/not found|does not appear to be a git repository|could not read Username/i.test(stderr)) {
            why = 'repository not found (or private)';
          } else why = `failed: ${lastLine(stderr) || e.message}`;
          resolve(fail(GIT_SOURCE, `${GIT_SOURCE} ${remote}: ${why}`));
        },
      );
    });
  }

  return {
    getTags(repoSpec) {
      const match = REPO_PATTERN.exec(repoSpec.replace(/\.git$/, ''));
      if (!match || match[2] === '.' || match[2] === '..') {
        stats.errors++;
        return Promise.resolve({
          status: 'unavailable',
          source: options.token ? API_SOURCE : GIT_SOURCE,
          reason: `${JSON.stringify(repoSpec)} is not a GitHub owner/repo`,
        });
      }
      const [, owner, repo] = match as unknown as [string, string, string];
      const key = `${owner}/${repo}`.toLowerCase();
      const existing = memo.get(key);
      if (existing && existing.expiresAtMs > now().getTime()) {
        stats.cacheHits++;
        return existing.lookup;
      }
      if (memo.size >= MAX_MEMO_ENTRIES) memo.clear();
      const lookup = lookupCached(owner, repo, key).then(
        (r): Fact<string[]> =>
          r.ok
            ? { status: 'ok', value: [...new Set(r.names)] }
            : { status: 'unavailable', source: r.source, reason: r.reason },
      );
      const entry = { lookup, expiresAtMs: Number.POSITIVE_INFINITY };
      memo.set(key, entry);
      // The expiry starts when the answer arrives: failures are retried soon, tag lists hourly.
      void lookup.then((fact) => {
        entry.expiresAtMs = now().getTime() + (fact.status === 'ok' ? cacheTtlMs : FAILURE_TTL_MS);
      });
      return lookup;
    },
    stats: () => ({ ...stats }),
  };
}

/** Tag names from `git ls-remote --tags` output: `refs/tags/` stripped, peeled `^{}` entries folded. */
export function parseLsRemoteTags(output: string): string[] {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const ref = line.split('\t')[1]?.trim();
    if (!ref?.startsWith('refs/tags/')) continue;
    names.add(ref.slice('refs/tags/'.length).replace(/\^\{\}$/, ''));
  }
  return [...names];
}

/** The `rel="next"` target of a `Link` header. */
export function parseNextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /^<([^>]*)>(.*)$/.exec(part.trim());
    const rel = m && /\brel="?([^";]*)"?/.exec(m[2]!);
    if (rel?.[1]?.split(/\s+/).includes('next')) return m![1];
  }
  return undefined;
}

function describeStatus(code: number, headers: HttpHeaders, body: Buffer, now: Date): string {
  if ((code === 403 || code === 429) && headers['x-ratelimit-remaining'] === '0') {
    const resetSec = Number(headers['x-ratelimit-reset']);
    if (!Number.isFinite(resetSec)) return 'GitHub API rate limit exhausted';
    const reset = new Date(resetSec * 1000);
    const minutes = Math.max(0, Math.ceil((reset.getTime() - now.getTime()) / 60_000));
    return `GitHub API rate limit exhausted until ${reset.toISOString().slice(11, 16)} UTC (in ${minutes} min)`;
  }
  if (code === 404) return 'repository not found on GitHub';
  const message = githubMessage(body);
  if (code === 401) return `GitHub token rejected (HTTP 401${message ? `: ${message}` : ''})`;
  return `unexpected HTTP ${code}${message ? ` (${message})` : ''}`;
}

function githubMessage(body: Buffer): string | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as { message?: unknown };
    return typeof value.message === 'string' ? value.message.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}
