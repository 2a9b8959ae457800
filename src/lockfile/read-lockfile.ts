// Reads a project's lockfile into the list of registry packages the guardrails check: finds the
// lockfiles, picks the reader for each format, and keeps npm inventories in the disk cache.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isLockwardenError, LockwardenError } from '../errors.js';
import { createDiskCache } from '../sources/disk-cache.js';
import { TOOL_VERSION } from '../version.js';
import { mergeInventories } from './build-inventory.js';
import {
  detectLockfiles,
  LOCKFILE_NAMES,
  lockfileFormat,
  otherFormatWorkspaceFolders,
  readFormat,
} from './lockfile-formats.js';
import type { LockfileInventory } from './lockfile-inventory.js';
import { directoryFiles, readOptionalText, textFiles, toPosix } from './project-files.js';
import { readNpmLockfile } from './read-npm-lockfile.js';

export interface ReadLockfileOptions {
  /**
   * The lockfile to read, absolute or relative to `dir`. Defaults to the first one found, in
   * the order of `LOCKFILE_NAMES` (npm's own pick first: the shrinkwrap, then package-lock.json).
   */
  lockfile?: string;
  /**
   * A directory to keep inventories in, keyed by the content of the lockfile and the package.json
   * files Arborist reads: an unchanged project is not walked again (a warm audit's largest cost).
   */
  cacheDir?: string;
}

const SHRINKWRAP = 'npm-shrinkwrap.json';
const PACKAGE_LOCK = 'package-lock.json';
/** Far above the largest real lockfiles (a few MB); beyond it reading would only exhaust memory. */
const MAX_LOCKFILE_BYTES = 256 * 1024 * 1024;

/** Reads the lockfile of the project in `dir`. Throws `ELOCKFILE` when it is missing or malformed. */
export async function readLockfile(dir: string, opts: ReadLockfileOptions = {}): Promise<LockfileInventory> {
  const root = path.resolve(dir);
  const lockfile = opts.lockfile === undefined ? await findLockfile(root) : path.resolve(root, opts.lockfile);
  const display = path.relative(root, lockfile) || path.basename(lockfile);
  const text = await readText(lockfile, display);

  const lockDir = path.dirname(lockfile);
  const format = lockfileFormat(lockfile);
  if (format !== 'npm') {
    return readFormat(format, {
      text,
      file: lockfile,
      display,
      files: directoryFiles(lockDir),
      fallbackRoot: path.basename(lockDir),
    });
  }
  if ((await arboristPicks(lockDir)) === path.basename(lockfile)) {
    if (opts.cacheDir) return readCachedInventory(opts.cacheDir, lockDir, lockfile, display, text, root);
    return readNpmLockfile({
      projectDir: lockDir,
      text,
      file: lockfile,
      display,
      packageJsonDisplay: path.relative(root, path.join(lockDir, 'package.json')),
      fallbackRoot: path.basename(lockDir),
    });
  }
  // Arborist only reads the lockfile npm would pick in a directory (the shrinkwrap when both
  // exist, and only under the standard names); any other one is read from a copy.
  const packageJson = await readOptionalText(path.join(lockDir, 'package.json'));
  const inventory = await readCopy(text, packageJson, display, path.basename(lockDir));
  return { ...inventory, file: lockfile };
}

// 2: entries carry each copy's own `resolved`/`integrity` when the copies disagree (`sources`).
const INVENTORY_CACHE_FORMAT = 2;

async function readCachedInventory(
  cacheDir: string,
  lockDir: string,
  lockfile: string,
  display: string,
  text: string,
  root: string,
): Promise<LockfileInventory> {
  // Everything loadVirtual reads: the lockfile, the root package.json and each workspace's.
  const hash = createHash('sha256')
    .update(`${INVENTORY_CACHE_FORMAT}\0${TOOL_VERSION}\0${display}\0`)
    .update(text);
  const rootPackageJson = await readOptionalText(path.join(lockDir, 'package.json'));
  hash.update(`\0package.json\0${rootPackageJson ?? '(none)'}`);
  for (const folder of workspaceFolders(text)) {
    const manifest = await readOptionalText(path.join(lockDir, folder, 'package.json'));
    hash.update(`\0${folder}\0${manifest ?? '(none)'}`);
  }
  const cache = createDiskCache(cacheDir);
  const key = hash.digest('hex');
  const cached = await cache.read('lockfile-inventory', key);
  if (cached) {
    try {
      const inventory = JSON.parse(cached.body.toString('utf8')) as LockfileInventory;
      if (Array.isArray(inventory.entries)) return { ...inventory, file: lockfile };
    } catch {
      // a corrupt entry is a miss
    }
  }
  const inventory = await readNpmLockfile({
    projectDir: lockDir,
    text,
    file: lockfile,
    display,
    packageJsonDisplay: path.relative(root, path.join(lockDir, 'package.json')),
    fallbackRoot: path.basename(lockDir),
  });
  // One write per run: awaited, so every adapter leaves it on disk however it ends.
  await cache.write('lockfile-inventory', key, {
    body: Buffer.from(JSON.stringify(inventory)),
    fetchedAtMs: Date.now(),
  });
  return inventory;
}

/**
 * Folders of the `packages` map outside node_modules (workspaces and linked folders), relative to
 * the lockfile's directory. Arborist reads each one's package.json to know the workspaces.
 * `insideOnly` drops link targets outside the project (`../shared`).
 */
export function workspaceFolders(text: string, opts: { insideOnly?: boolean } = {}): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // pnpm's importers, yarn Berry's and bun's workspaces (the readers report syntax errors).
    return folderList(otherFormatWorkspaceFolders(text), opts);
  }
  const packages = (doc as { packages?: unknown } | null)?.packages;
  if (!packages || typeof packages !== 'object') return [];
  return folderList(Object.keys(packages), opts);
}

function folderList(keys: string[], opts: { insideOnly?: boolean }): string[] {
  return keys
    .filter((k) => k !== '' && !k.startsWith('node_modules/') && !k.includes('/node_modules/'))
    .filter((k) => !path.isAbsolute(k))
    .filter((k) => !opts.insideOnly || isInsideFolder(k))
    .sort();
}

/** A folder that stays inside the project: no `..` step, no absolute path, no drive. */
function isInsideFolder(folder: string): boolean {
  const normal = path.posix.normalize(toPosix(folder));
  return normal !== '..' && !normal.startsWith('../') && !path.isAbsolute(normal) && !/^[a-z]:/i.test(normal);
}

/**
 * Reads a lockfile given only its text (the base side of a pull request, fetched from git).
 * `name` is how the lockfile is named in messages and locations (`package-lock.json`, or a
 * path ending in `npm-shrinkwrap.json`). Without `packageJsonText`, the root's dependencies
 * come from the lockfile's own root entry. `workspaceManifests` maps the folders of
 * `workspaceFolders(lockfileText)` to their package.json text at the same commit: without them
 * Arborist does not see the workspaces, and every one of them would look new against the head.
 */
export async function readLockfileText(
  lockfileText: string,
  packageJsonText: string | undefined,
  name: string,
  workspaceManifests?: ReadonlyMap<string, string>,
): Promise<LockfileInventory> {
  const dirName = path.posix.basename(path.posix.dirname(toPosix(name)));
  const format = lockfileFormat(name);
  if (format !== 'npm') {
    return readFormat(format, {
      text: lockfileText,
      file: name,
      display: name,
      files: textFiles(packageJsonText, workspaceManifests),
      fallbackRoot: dirName === '' || dirName === '.' ? '(root)' : dirName,
    });
  }
  return readCopy(
    lockfileText,
    packageJsonText,
    name,
    dirName === '' || dirName === '.' ? '(root)' : dirName,
    workspaceManifests,
  );
}

async function readCopy(
  lockfileText: string,
  packageJsonText: string | undefined,
  name: string,
  fallbackRoot: string,
  workspaceManifests?: ReadonlyMap<string, string>,
): Promise<LockfileInventory> {
  const fileName = path.basename(name) === SHRINKWRAP ? SHRINKWRAP : PACKAGE_LOCK;
  const tempDir = await mkdtemp(path.join(tmpdir(), 'lockwarden-lockfile-'));
  try {
    if (packageJsonText !== undefined) await writeFile(path.join(tempDir, 'package.json'), packageJsonText);
    for (const [folder, text] of workspaceManifests ?? []) {
      // Folder names come from a lockfile: none may write outside the copy.
      if (!isInsideFolder(folder) || folder === '' || folder === '.') continue;
      const dir = path.join(tempDir, ...toPosix(folder).split('/'));
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'package.json'), text);
    }
    await writeFile(path.join(tempDir, fileName), lockfileText);
    return await readNpmLockfile({
      projectDir: tempDir,
      text: lockfileText,
      file: name,
      display: name,
      packageJsonDisplay: path.posix.join(path.posix.dirname(toPosix(name)), 'package.json'),
      fallbackRoot,
    });
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * Every lockfile of the project in `dir` (npm's, pnpm's, yarn's, bun's), or just `opts.lockfile`.
 * A project that has several gets them all audited; a warning on each inventory says so.
 */
export async function readLockfiles(
  dir: string,
  opts: ReadLockfileOptions = {},
): Promise<LockfileInventory[]> {
  if (opts.lockfile !== undefined) return [await readLockfile(dir, opts)];
  const root = path.resolve(dir);
  const names = await detectLockfiles(root);
  if (names.length === 0) throw noLockfile(root);
  const inventories: LockfileInventory[] = [];
  for (const name of names) inventories.push(await readLockfile(root, { ...opts, lockfile: name }));
  if (names.length > 1) {
    inventories[0]!.warnings.unshift(
      `several lockfiles in ${root}: ${names.join(', ')}; all of them were audited (keep the one your package manager uses)`,
    );
  }
  return inventories;
}

/** `readLockfiles` as one inventory: a name@version in several lockfiles is one entry with all their locations. */
export async function readProjectLockfiles(
  dir: string,
  opts: ReadLockfileOptions = {},
): Promise<LockfileInventory> {
  return mergeInventories(await readLockfiles(dir, opts));
}

function noLockfile(root: string): LockwardenError {
  return new LockwardenError(
    'ELOCKFILE',
    `no lockfile in ${root} (looked for ${LOCKFILE_NAMES.join(', ')}); run your package manager's install (e.g. npm install --package-lock-only)`,
  );
}

async function findLockfile(root: string): Promise<string> {
  const [picked] = await detectLockfiles(root);
  if (picked === undefined) throw noLockfile(root);
  return path.join(root, picked);
}

/** The lockfile npm reads in `dir`: the shrinkwrap wins when both exist. */
async function arboristPicks(dir: string): Promise<string | undefined> {
  for (const name of [SHRINKWRAP, PACKAGE_LOCK]) {
    if (await isFile(path.join(dir, name))) return name;
  }
  return undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function readText(file: string, display: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new LockwardenError('ELOCKFILE', `${display}: not a file`);
    size = info.size;
  } catch (err) {
    if (isLockwardenError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LockwardenError(
        'ELOCKFILE',
        `${file}: no such lockfile; run your package manager's install (e.g. npm install --package-lock-only)`,
      );
    }
    throw new LockwardenError('ELOCKFILE', `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (size > MAX_LOCKFILE_BYTES) {
    throw new LockwardenError(
      'ELOCKFILE',
      `${display}: ${size} bytes is larger than the ${MAX_LOCKFILE_BYTES} bytes a lockfile may have`,
    );
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new LockwardenError('ELOCKFILE', `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
}
