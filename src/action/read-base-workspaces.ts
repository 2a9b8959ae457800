// The workspace package.json files of a pull request's base commit, read with the base lockfile:
// without them the base side has no workspaces, and a monorepo's every workspace would look new
// in the diff. npm, pnpm, yarn Berry and bun lockfiles name their workspace folders; yarn
// classic's does not, so its root package.json `workspaces` globs are expanded against the base
// commit's file list (there is no base checkout to glob on disk).
import path from 'node:path';
import { minimatch } from 'minimatch';
import { mapConcurrent } from '../engine/map-concurrent.js';
import { workspaceFolders } from '../lockfile/read-lockfile.js';
import type { BaseFile, BaseFileList } from './read-base-file.js';

export interface BaseWorkspaces {
  /** Folder (relative to the lockfile's directory) → its package.json text at the base commit. */
  manifests: Map<string, string>;
  warnings: string[];
}

/**
 * `dir` is the lockfile's directory (repository-relative, posix); `read` reads a file at the base
 * commit; `list` lists the base commit's files under `dir` (only called for yarn classic).
 */
export async function readBaseWorkspaces(opts: {
  lockfileText: string;
  /** The lockfile's repository-relative path. */
  file: string;
  dir: string;
  packageJsonText: string | undefined;
  read: (file: string) => Promise<BaseFile>;
  list: () => Promise<BaseFileList>;
}): Promise<BaseWorkspaces> {
  const warnings: string[] = [];
  let folders = workspaceFolders(opts.lockfileText, { insideOnly: true });
  if (isYarnClassic(opts.file, opts.lockfileText)) {
    const patterns = workspacePatterns(opts.packageJsonText);
    if (patterns.positive.length === 0) return { manifests: new Map(), warnings };
    const listed = await opts.list();
    if ('unavailable' in listed) {
      warnings.push(
        `${opts.file} at the base commit: the workspaces of package.json cannot be listed (${listed.unavailable}); workspaces may be listed as added`,
      );
      return { manifests: new Map(), warnings };
    }
    if (!listed.complete) {
      warnings.push(
        `${opts.file} at the base commit: GitHub cut the base commit's file list short; workspaces it left out may be listed as added (use \`fetch-depth: 0\` in actions/checkout)`,
      );
    }
    folders = matchWorkspaceFolders(patterns, relativeTo(opts.dir, listed.paths));
  }
  const manifests = new Map<string, string>();
  await mapConcurrent(folders, 8, async (folder) => {
    const found = await opts.read(path.posix.join(opts.dir, folder, 'package.json'));
    if (found.found) manifests.set(folder, found.text);
  });
  return { manifests, warnings };
}

/** yarn classic's lockfile is not YAML and has no `__metadata` entry (Berry's always has). */
function isYarnClassic(file: string, text: string): boolean {
  return path.posix.basename(file) === 'yarn.lock' && !/^"?__metadata"?:/m.test(text);
}

export interface WorkspacePatterns {
  positive: string[];
  negated: string[];
}

/**
 * The root package.json's `workspaces` (an array, or yarn's `{ packages: [...] }`) as
 * @npmcli/map-workspaces reads them: a leading `./` or `/` dropped, an odd number of `!` negates.
 */
export function workspacePatterns(packageJsonText: string | undefined): WorkspacePatterns {
  const out: WorkspacePatterns = { positive: [], negated: [] };
  let manifest: unknown;
  try {
    manifest = packageJsonText === undefined ? undefined : JSON.parse(packageJsonText);
  } catch {
    return out; // the lockfile reader warns about the same package.json
  }
  const declared = (manifest as { workspaces?: unknown } | null | undefined)?.workspaces;
  const list = Array.isArray(declared)
    ? declared
    : Array.isArray((declared as { packages?: unknown } | null | undefined)?.packages)
      ? (declared as { packages: unknown[] }).packages
      : [];
  for (const raw of list) {
    if (typeof raw !== 'string') continue;
    const bangs = /^!*/.exec(raw)![0].length;
    const pattern = raw
      .slice(bangs)
      .replace(/\\/g, '/')
      .replace(/^\.?\/+/, '')
      .replace(/\/+$/, '');
    if (pattern === '') continue;
    (bangs % 2 === 1 ? out.negated : out.positive).push(pattern);
  }
  return out;
}

/**
 * The folders (relative to the project) holding a package.json that a positive pattern matches
 * and no negated one does. Paths come from the commit's own file list, relative to the project,
 * so a `../` pattern matches nothing: nothing outside the project (or the repository) is read.
 */
export function matchWorkspaceFolders(patterns: WorkspacePatterns, paths: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const file of paths) {
    if (path.posix.basename(file) !== 'package.json') continue;
    const folder = path.posix.dirname(file);
    if (folder === '.' || folder.split('/').some((part) => part === 'node_modules' || part === '..'))
      continue;
    if (!patterns.positive.some((p) => minimatch(folder, p))) continue;
    if (patterns.negated.some((p) => minimatch(folder, p))) continue;
    folders.add(folder);
  }
  return [...folders].sort();
}

/** Paths under `dir`, made relative to it. */
function relativeTo(dir: string, paths: readonly string[]): string[] {
  if (dir === '.' || dir === '') return [...paths];
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  return paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
}
