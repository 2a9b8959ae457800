// A temporary copy of the files a resolver reads (lockfile, package.json files...), for dry runs:
// the resolver works on the copy and the project is never written.
import { copyFile, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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

/** Never copied into a staged project: installed packages and version control. */
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

/**
 * A temporary copy of the whole project but node_modules and .git (a package manager reads its
 * workspace files, config and patches from anywhere in it); removed here if the copy fails.
 */
export async function stageProjectTree(dir: string, opts: { tmpRoot?: string } = {}): Promise<string> {
  const staged = await mkdtemp(path.join(opts.tmpRoot ?? tmpdir(), 'lockwarden-update-'));
  try {
    await cp(dir, staged, {
      recursive: true,
      filter: (source) => !SKIPPED_DIRS.has(path.basename(source)),
    });
    return staged;
  } catch (err) {
    await rm(staged, { recursive: true, force: true });
    throw err;
  }
}

/** Files named `name` anywhere in the project but node_modules and .git, relative to `dir`. */
export async function listProjectFiles(dir: string, name: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) await walk(path.join(rel, entry.name));
      else if (entry.isFile() && entry.name === name) out.push(path.join(rel, entry.name));
    }
  };
  await walk('');
  return out.sort();
}
