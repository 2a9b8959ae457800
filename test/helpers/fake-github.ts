// A loopback GitHub REST API for tags and releases: pagination with `Link` headers, rate-limit
// headers (and an exhausted limit on demand), token checks and 404s for unknown repositories.
import type { ServerResponse } from 'node:http';
import { type FakeServer, sendJson, startFakeServer } from './fake-upstream.js';

export interface FakeRelease {
  tag_name: string;
  name?: string | null;
  draft?: boolean;
  prerelease?: boolean;
}

export interface FakeRepo {
  tags?: string[];
  releases?: FakeRelease[];
}

export interface FakeGitHubOptions {
  /** Repositories by `owner/repo` (matched case-insensitively, as GitHub does). */
  repos?: Record<string, FakeRepo>;
  /** Largest page the fake serves, whatever `per_page` asks (GitHub's is 100). */
  maxPerPage?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (or `token <token>`). */
  requireToken?: string;
  rateLimit?: { limit?: number; remaining?: number; resetEpochSec?: number };
}

export interface FakeGitHub extends FakeServer {
  setRepo(repo: string, data: FakeRepo): void;
  /** Exhausts (or restores) the primary rate limit; `resetEpochSec` says when it resets. */
  setRateLimit(limit: { remaining: number; resetEpochSec: number }): void;
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const repos = new Map<string, FakeRepo>();
  for (const [k, v] of Object.entries(options.repos ?? {})) repos.set(k.toLowerCase(), v);
  const maxPerPage = options.maxPerPage ?? 100;
  const rate = {
    limit: options.rateLimit?.limit ?? 5000,
    remaining: options.rateLimit?.remaining ?? 5000,
    resetEpochSec: options.rateLimit?.resetEpochSec ?? 1_900_000_000,
  };
  let base = '';

  const rateHeaders = () => ({
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-reset': String(rate.resetEpochSec),
    'x-ratelimit-resource': 'core',
  });

  const sendPage = (res: ServerResponse, url: URL, path: string, items: unknown[]) => {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), maxPerPage);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const lastPage = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string) =>
      `<${base}${path.slice(1)}?per_page=${perPage}&page=${p}>; rel="${rel}"`;
    const links: string[] = [];
    if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    sendJson(res, 200, slice, { ...rateHeaders(), ...(links.length ? { link: links.join(', ') } : {}) });
  };

  const server = await startFakeServer((req, res, recorded) => {
    const url = new URL(recorded.url, 'http://127.0.0.1');
    if (options.requireToken) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${options.requireToken}` && auth !== `token ${options.requireToken}`) {
        return sendJson(res, 401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
        });
      }
    }
    if (rate.remaining <= 0) {
      return sendJson(
        res,
        403,
        {
          message: 'API rate limit exceeded for installation.',
          documentation_url: 'https://docs.github.com/rest',
        },
        rateHeaders(),
      );
    }
    rate.remaining--;
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(tags|releases)$/.exec(url.pathname);
    const repo = m && repos.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`.toLowerCase());
    if (!m || !repo) return sendJson(res, 404, { message: 'Not Found' }, rateHeaders());
    if (m[3] === 'tags') {
      const items = (repo.tags ?? []).map((name, i) => ({
        name,
        commit: { sha: i.toString(16).padStart(40, '0'), url: `${base}repos/${m[1]}/${m[2]}/commits/${i}` },
        zipball_url: `${base}repos/${m[1]}/${m[2]}/zipball/refs/tags/${name}`,
        tarball_url: `${base}repos/${m[1]}/${m[2]}/tarball/refs/tags/${name}`,
        node_id: `REF_${i}`,
      }));
      return sendPage(res, url, url.pathname, items);
    }
    const items = (repo.releases ?? []).map((r, i) => ({
      id: i + 1,
      tag_name: r.tag_name,
      name: r.name ?? null,
      draft: r.draft ?? false,
      prerelease: r.prerelease ?? false,
      published_at: '2026-01-01T00:00:00Z',
    }));
    return sendPage(res, url, url.pathname, items);
  });
  base = server.url;

  return {
    ...server,
    setRepo: (repo, data) => {
      repos.set(repo.toLowerCase(), data);
    },
    setRateLimit: (limit) => {
      rate.remaining = limit.remaining;
      rate.resetEpochSec = limit.resetEpochSec;
    },
  };
}
