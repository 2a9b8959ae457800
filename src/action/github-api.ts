// The few GitHub REST calls the Action makes: a file at the base commit (when the checkout is
// shallow) and the sticky pull request comment, with the CLI's GitHub conventions
// (src/sources/github-rest.ts) over the one HTTP layer. Errors say which permission is missing.
import { LockwardenError } from '../errors.js';
import { githubHeaders } from '../sources/github-rest.js';
import { parseJsonBody, sendRequest } from './http-request.js';

export interface GitHubApi {
  /** File content at a commit, or null when the file does not exist there. */
  getFileAtRef(path: string, ref: string): Promise<string | null>;
  /**
   * Every file (blob) path of a commit's tree; `truncated` when GitHub cut the recursive listing
   * short (very large trees).
   */
  listFilesAtRef?(ref: string): Promise<{ paths: string[]; truncated: boolean }>;
  /**
   * Creates or updates the one comment that starts with `marker` and was written by the identity
   * behind the token.
   */
  upsertComment(pullNumber: number, marker: string, body: string): Promise<'created' | 'updated'>;
}

export interface GitHubApiOptions {
  /** `GITHUB_API_URL`. */
  apiUrl: string;
  owner: string;
  repo: string;
  token?: string;
  timeoutMs?: number;
}

const COMMENT_PAGES = 10;
/** Who writes what the default GITHUB_TOKEN posts. */
const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function createGitHubApi(opts: GitHubApiOptions): GitHubApi {
  const base = opts.apiUrl.replace(/\/+$/, '');
  const repoPath = `/repos/${encodeURIComponent(opts.owner)}/${encodeURIComponent(opts.repo)}`;
  const headers = (accept: string) => githubHeaders(accept, opts.token);

  async function call(
    what: string,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    accept: string,
    permission: string,
    body?: unknown,
  ) {
    const res = await sendRequest({
      method,
      url: `${base}${path}`,
      headers: { ...headers(accept), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: opts.timeoutMs,
    });
    if (!res.ok) throw new LockwardenError('ECONFIG', `GitHub API (${what}): ${res.reason}`);
    if (res.statusCode === 401) {
      throw new LockwardenError(
        'EINPUT',
        `GitHub API (${what}): HTTP 401; input \`github-token\` is missing or invalid`,
      );
    }
    if (res.statusCode === 403) {
      throw new LockwardenError(
        'EINPUT',
        `GitHub API (${what}): HTTP 403; the token lacks \`${permission}\` (add it to the job's \`permissions:\`) or the rate limit is exhausted`,
      );
    }
    return res;
  }

  return {
    async getFileAtRef(path, ref) {
      const what = `reading ${path} at ${ref.slice(0, 12)}`;
      const res = await call(
        what,
        'GET',
        `${repoPath}/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`,
        'application/vnd.github.raw+json',
        'contents: read',
      );
      if (res.statusCode === 404) return null;
      if (res.statusCode !== 200)
        throw new LockwardenError('ECONFIG', `GitHub API (${what}): HTTP ${res.statusCode}`);
      return res.body.toString('utf8');
    },

    async listFilesAtRef(ref) {
      const what = `listing the files at ${ref.slice(0, 12)}`;
      const res = await call(
        what,
        'GET',
        `${repoPath}/git/trees/${encodeURIComponent(ref)}?recursive=1`,
        'application/vnd.github+json',
        'contents: read',
      );
      if (res.statusCode !== 200)
        throw new LockwardenError('ECONFIG', `GitHub API (${what}): HTTP ${res.statusCode}`);
      const doc = parseJsonBody(res.body) as { tree?: unknown; truncated?: unknown } | undefined;
      if (!doc || !Array.isArray(doc.tree))
        throw new LockwardenError('ECONFIG', `GitHub API (${what}): the tree is not JSON`);
      const paths: string[] = [];
      for (const item of doc.tree as { path?: unknown; type?: unknown }[]) {
        if (item?.type === 'blob' && typeof item.path === 'string') paths.push(item.path);
      }
      return { paths, truncated: doc.truncated === true };
    },

    async upsertComment(pullNumber, marker, body) {
      const what = `comment on pull request #${pullNumber}`;
      // Anyone can post a comment starting with the marker: only one written by the token's own
      // identity is ours to edit, or the verdict would land in a comment its author can change
      // back to "passed". A user token names itself at /user; installation tokens cannot read it
      // (403), and the default GITHUB_TOKEN's comments are written by the Actions bot.
      const self = await sendRequest({
        method: 'GET',
        url: `${base}/user`,
        headers: headers('application/vnd.github+json'),
        timeoutMs: opts.timeoutMs,
      });
      const selfLogin =
        self.ok && self.statusCode === 200
          ? (parseJsonBody(self.body) as { login?: unknown } | undefined)?.login
          : undefined;
      const author = typeof selfLogin === 'string' ? selfLogin : ACTIONS_BOT_LOGIN;
      let existing: number | undefined;
      for (let page = 1; page <= COMMENT_PAGES && existing === undefined; page++) {
        const res = await call(
          what,
          'GET',
          `${repoPath}/issues/${pullNumber}/comments?per_page=100&page=${page}`,
          'application/vnd.github+json',
          'pull-requests: write',
        );
        if (res.statusCode !== 200)
          throw new LockwardenError('ECONFIG', `GitHub API (${what}): HTTP ${res.statusCode}`);
        const list = parseJsonBody(res.body);
        if (!Array.isArray(list))
          throw new LockwardenError('ECONFIG', `GitHub API (${what}): the comment list is not JSON`);
        for (const c of list as { id?: unknown; body?: unknown; user?: { login?: unknown } | null }[]) {
          if (
            typeof c?.body === 'string' &&
            c.body.startsWith(marker) &&
            typeof c.id === 'number' &&
            c.user?.login === author
          ) {
            existing = c.id;
            break;
          }
        }
        if (list.length < 100) break;
      }
      const res =
        existing === undefined
          ? await call(
              what,
              'POST',
              `${repoPath}/issues/${pullNumber}/comments`,
              'application/vnd.github+json',
              'pull-requests: write',
              { body },
            )
          : await call(
              what,
              'PATCH',
              `${repoPath}/issues/comments/${existing}`,
              'application/vnd.github+json',
              'pull-requests: write',
              { body },
            );
      if (res.statusCode !== 200 && res.statusCode !== 201) {
        throw new LockwardenError('ECONFIG', `GitHub API (${what}): HTTP ${res.statusCode}`);
      }
      return existing === undefined ? 'created' : 'updated';
    },
  };
}
