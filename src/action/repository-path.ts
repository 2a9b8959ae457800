// Files the Action reads from the checkout (lockfiles, package.json files, the policy, .npmrc) are
// the pull request's to choose, symbolic links included: a link to /etc/passwd or to the runner's
// environment would have the Action read, and its error messages print, bytes of any runner file.
// So every such path must resolve inside the repository, and the refusal names only the path.
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LockwardenError } from '../errors.js';

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Throws EINPUT when `file` (repository-relative) exists and resolves outside `workspace`.
 * A file that does not exist passes: its reader reports it missing.
 */
export async function assertInsideRepository(workspace: string, file: string): Promise<void> {
  const root = await realpath(workspace);
  let real: string;
  try {
    real = await realpath(path.resolve(workspace, file));
  } catch (err) {
    if (isMissing(err)) return;
    throw new LockwardenError('EINPUT', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  const relative = path.relative(root, real);
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) return;
  throw new LockwardenError(
    'EINPUT',
    `${file}: resolves outside the repository (a symbolic link?); lockwarden reads only files inside the checkout, and did not read it`,
  );
}

/** The text of a repository file that resolves inside the repository; undefined when it does not exist. */
export async function readRepositoryText(workspace: string, file: string): Promise<string | undefined> {
  await assertInsideRepository(workspace, file);
  try {
    return await readFile(path.resolve(workspace, file), 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    // The code only: a message could carry more than the path.
    throw new LockwardenError('EINPUT', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code})`, {
      cause: err,
    });
  }
}

/** `a/b` + `package-lock.json` → `a/b/package-lock.json`; `.` + x → x. */
export function joinRepoPath(dir: string, file: string): string {
  return dir === '.' ? file : `${dir}/${file}`;
}
