// A temporary copy of the files a resolver reads (lockfile, package.json files...), for dry runs:
// the resolver works on the copy and the project is never written.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface StagedFile {
  /** Relative to the project directory. */
  path: string;
  /** Written instead of copying the project's file. */
  text?: string;
}

/**
 * Copies `files` from `dir` into a new temporary directory and returns it; the caller removes it.
 * If any copy fails the directory is removed here, so a failed dry run leaves nothing behind.
 */
export async function stageProject(
  dir: string,
  files: readonly StagedFile[],
  opts: { tmpRoot?: string } = {},
): Promise<string> {
  const staged = await mkdtemp(path.join(opts.tmpRoot ?? tmpdir(), 'lockwarden-update-'));
  try {
    for (const file of files) {
      const target = path.join(staged, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      if (file.text !== undefined) await writeFile(target, file.text);
      else await copyFile(path.join(dir, file.path), target);
    }
    return staged;
  } catch (err) {
    await rm(staged, { recursive: true, force: true });
    throw err;
  }
}
