// A file as it was at the base commit: from the local clone when the checkout has that commit,
// else through the contents API (actions/checkout fetches one commit by default).
import { execFile } from 'node:child_process';
import { LockwardenError } from '../errors.js';
import type { GitHubApi } from './github-api.js';

export type BaseFile =
  | { found: true; text: string; via: 'git' | 'api' }
  | { found: false; via: 'git' | 'api' };

const MAX_FILE_BYTES = 256 * 1024 * 1024;

function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: MAX_FILE_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : -1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether the clone has the commit; false for shallow checkouts, missing git or no repository. */
export async function hasCommit(workspace: string, sha: string): Promise<boolean> {
  const res = await git(workspace, ['cat-file', '-e', `${sha}^{commit}`]);
  return res.code === 0;
}

/**
 * `path` is repository-relative with posix separators; `sha` a full commit id (validated by
 * the event parser), so neither can smuggle options into the git command line.
 */
export async function readBaseFile(opts: {
  workspace: string;
  sha: string;
  path: string;
  api?: GitHubApi;
  /** Result of `hasCommit`, when the caller already knows it. */
  commitPresent?: boolean;
}): Promise<BaseFile> {
  const present = opts.commitPresent ?? (await hasCommit(opts.workspace, opts.sha));
  if (present) {
    const res = await git(opts.workspace, ['cat-file', 'blob', `${opts.sha}:${opts.path}`]);
    if (res.code === 0) return { found: true, text: res.stdout, via: 'git' };
    // The commit is here, so a failure means the file did not exist in it.
    const exists = await git(opts.workspace, ['ls-tree', '--name-only', opts.sha, '--', opts.path]);
    if (exists.code === 0 && exists.stdout.trim() === '') return { found: false, via: 'git' };
  }
  if (!opts.api) {
    throw new LockwardenError(
      'EINPUT',
      `cannot read ${opts.path} at the base commit ${opts.sha.slice(0, 12)}: the checkout does not have it and no \`github-token\` is set (use \`fetch-depth: 0\` in actions/checkout or keep the default token)`,
    );
  }
  const text = await opts.api.getFileAtRef(opts.path, opts.sha);
  return text === null ? { found: false, via: 'api' } : { found: true, text, via: 'api' };
}

/** The base commit's file paths (repository-relative, posix); `complete` is false when cut short. */
export type BaseFileList =
  | { paths: string[]; complete: boolean; via: 'git' | 'api' }
  | { unavailable: string };

/**
 * Every file path of the base commit under `dir` (`.` for all): from the clone with `git ls-tree`,
 * else through the git trees API. What a checkout without the commit and without a token cannot
 * list is `unavailable`, with the reason, never an empty list that would look like "no files".
 */
export async function listBaseFiles(opts: {
  workspace: string;
  sha: string;
  dir: string;
  api?: GitHubApi;
  commitPresent?: boolean;
}): Promise<BaseFileList> {
  const present = opts.commitPresent ?? (await hasCommit(opts.workspace, opts.sha));
  if (present) {
    const scope = opts.dir === '.' || opts.dir === '' ? [] : ['--', opts.dir];
    const res = await git(opts.workspace, ['ls-tree', '-r', '-z', '--name-only', opts.sha, ...scope]);
    if (res.code === 0) return { paths: res.stdout.split('\0').filter(Boolean), complete: true, via: 'git' };
  }
  if (!opts.api?.listFilesAtRef) {
    return {
      unavailable: `the checkout does not have the base commit ${opts.sha.slice(0, 12)} and no \`github-token\` is set (use \`fetch-depth: 0\` in actions/checkout or keep the default token)`,
    };
  }
  const listed = await opts.api.listFilesAtRef(opts.sha);
  const prefix = opts.dir === '.' || opts.dir === '' ? '' : `${opts.dir.replace(/\/+$/, '')}/`;
  return {
    paths: listed.paths.filter((p) => p.startsWith(prefix)),
    complete: !listed.truncated,
    via: 'api',
  };
}
