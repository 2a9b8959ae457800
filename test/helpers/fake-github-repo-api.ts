// A loopback GitHub REST API for what the Action itself calls: file contents at a commit (raw media
// type), a commit's recursive tree, and issue comments (list, create, update). Tags and releases live in fake-github.ts.
import type { IncomingMessage } from 'node:http';
import { type FakeServer, sendJson, startFakeServer } from './fake-upstream.js';

export interface FakeComment {
  id: number;
  body: string;
  /** The author, as GitHub returns it. */
  user: { login: string };
}

export interface FakeGitHubRepoApi extends FakeServer {
  /** `owner/repo` -> commit sha -> path -> content. */
  setFile(repo: string, sha: string, path: string, content: string): void;
  /** Answer the recursive tree of `sha` with `truncated: true` (GitHub's cap on large trees). */
  truncateTree(repo: string, sha: string): void;
  comments(repo: string, issue: number): FakeComment[];
  /** A comment written by someone else (`login`). */
  addComment(repo: string, issue: number, login: string, body: string): FakeComment;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeGitHubRepoApi(
  options: {
    requireToken?: string;
    /**
     * Token -> login for user tokens, which can read `/user`. Any other token is an installation
     * token, as the default GITHUB_TOKEN is: `/user` answers 403 and its comments are written by
     * `github-actions[bot]`.
     */
    users?: Record<string, string>;
  } = {},
): Promise<FakeGitHubRepoApi> {
  const files = new Map<string, string>();
  const truncated = new Set<string>();
  const comments = new Map<string, FakeComment[]>();
  let nextId = 1000;

  const server = await startFakeServer(async (req, res, recorded) => {
    if (options.requireToken && req.headers.authorization !== `Bearer ${options.requireToken}`) {
      return sendJson(res, 401, { message: 'Bad credentials' });
    }
    const url = new URL(recorded.url, 'http://127.0.0.1');
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const login = options.users?.[token];
    if (url.pathname === '/user' && req.method === 'GET') {
      if (login === undefined)
        return sendJson(res, 403, { message: 'Resource not accessible by integration' });
      return sendJson(res, 200, { login, type: 'User' });
    }
    const contents = /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(url.pathname);
    if (contents && req.method === 'GET') {
      const repo = `${decodeURIComponent(contents[1]!)}/${decodeURIComponent(contents[2]!)}`;
      const path = contents[3]!.split('/').map(decodeURIComponent).join('/');
      const ref = url.searchParams.get('ref') ?? '';
      const text = files.get(`${repo}\0${ref}\0${path}`);
      if (text === undefined) return sendJson(res, 404, { message: 'Not Found' });
      if (!(req.headers.accept ?? '').includes('application/vnd.github.raw')) {
        return sendJson(res, 200, {
          type: 'file',
          encoding: 'base64',
          content: Buffer.from(text).toString('base64'),
        });
      }
      res.writeHead(200, { 'content-type': 'application/vnd.github.raw; charset=utf-8' });
      res.end(text);
      return;
    }
    const tree = /^\/repos\/([^/]+)\/([^/]+)\/git\/trees\/([^/]+)$/.exec(url.pathname);
    if (tree && req.method === 'GET') {
      const prefix = `${decodeURIComponent(tree[1]!)}/${decodeURIComponent(tree[2]!)}\0${decodeURIComponent(tree[3]!)}\0`;
      const paths = [...files.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      if (paths.length === 0) return sendJson(res, 404, { message: 'Not Found' });
      // Only blobs are set; GitHub lists their folders as `tree` entries too.
      const folders = new Set(
        paths.flatMap((p) =>
          p
            .split('/')
            .slice(0, -1)
            .map((_, i, a) => a.slice(0, i + 1).join('/')),
        ),
      );
      return sendJson(res, 200, {
        sha: tree[3],
        tree: [
          ...[...folders].map((p) => ({ path: p, type: 'tree', mode: '040000' })),
          ...paths.map((p) => ({ path: p, type: 'blob', mode: '100644' })),
        ],
        truncated: truncated.has(prefix),
      });
    }
    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    if (list) {
      const key = `${list[1]}/${list[2]}#${list[3]}`;
      const items = comments.get(key) ?? [];
      if (req.method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        return sendJson(res, 200, items.slice((page - 1) * perPage, page * perPage));
      }
      if (req.method === 'POST') {
        const body = JSON.parse(await readBody(req)) as { body: string };
        const comment = { id: nextId++, body: body.body, user: { login: login ?? 'github-actions[bot]' } };
        comments.set(key, [...items, comment]);
        return sendJson(res, 201, comment);
      }
    }
    const update = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (update && req.method === 'PATCH') {
      const id = Number(update[3]);
      for (const items of comments.values()) {
        const found = items.find((c) => c.id === id);
        if (found) {
          found.body = (JSON.parse(await readBody(req)) as { body: string }).body;
          return sendJson(res, 200, found);
        }
      }
      return sendJson(res, 404, { message: 'Not Found' });
    }
    return sendJson(res, 404, { message: 'Not Found' });
  });

  return {
    ...server,
    setFile: (repo, sha, path, content) => {
      files.set(`${repo}\0${sha}\0${path}`, content);
    },
    truncateTree: (repo, sha) => {
      truncated.add(`${repo}\0${sha}\0`);
    },
    comments: (repo, issue) => comments.get(`${repo}#${issue}`) ?? [],
    addComment: (repo, issue, login, body) => {
      const comment = { id: nextId++, body, user: { login } };
      comments.set(`${repo}#${issue}`, [...(comments.get(`${repo}#${issue}`) ?? []), comment]);
      return comment;
    },
  };
}
