// A git repository the way a pull request checks it out: a base commit and a head commit that
// changes the lockfile, for the Action's end-to-end tests and benchmark.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ProjectSpec, writeProject } from './make-lockfile.js';

export interface ActionRepo {
  dir: string;
  baseSha: string;
  headSha: string;
}

/** Git with no user or system configuration, so the machine's settings cannot leak in. */
export function git(dir: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Test Author',
      GIT_AUTHOR_EMAIL: 'author@example.test',
      GIT_COMMITTER_NAME: 'Test Author',
      GIT_COMMITTER_EMAIL: 'author@example.test',
      GIT_AUTHOR_DATE: '2026-11-20T09:00:00Z',
      GIT_COMMITTER_DATE: '2026-11-20T09:00:00Z',
    },
  }).trim();
}

/**
 * Commits `base` then `head` (each written with `writeProject` into `subdir`), plus any extra
 * files given for both commits.
 */
export function makeActionRepo(opts: {
  dir: string;
  base: ProjectSpec | null;
  head: ProjectSpec;
  subdir?: string;
  files?: Record<string, string>;
  /** Files changed by the head commit only. */
  headFiles?: Record<string, string>;
}): ActionRepo {
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  git(opts.dir, ['init', '--quiet', '--initial-branch=main']);
  const project = path.join(opts.dir, opts.subdir ?? '.');
  for (const [file, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(path.dirname(path.join(opts.dir, file)), { recursive: true });
    writeFileSync(path.join(opts.dir, file), text);
  }
  if (opts.base) writeProject(project, opts.base);
  else writeFileSync(path.join(opts.dir, 'README.md'), 'no lockfile yet\n');
  git(opts.dir, ['add', '--all']);
  git(opts.dir, ['commit', '--quiet', '--message', 'base']);
  const baseSha = git(opts.dir, ['rev-parse', 'HEAD']);
  writeProject(project, opts.head);
  for (const [file, text] of Object.entries(opts.headFiles ?? {}))
    writeFileSync(path.join(opts.dir, file), text);
  git(opts.dir, ['add', '--all']);
  git(opts.dir, ['commit', '--quiet', '--message', 'head']);
  const headSha = git(opts.dir, ['rev-parse', 'HEAD']);
  return { dir: opts.dir, baseSha, headSha };
}

/** 1-based line of `"<key>": {` in a lockfile's text, the line annotations must point at. */
export function lineOfKey(lockfileText: string, key: string): number {
  const lines = lockfileText.split('\n');
  const index = lines.findIndex((l) => l.trimStart().startsWith(`${JSON.stringify(key)}:`));
  if (index === -1) throw new Error(`${key} is not in the lockfile`);
  return index + 1;
}

export function readLockText(dir: string): string {
  return readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
}
