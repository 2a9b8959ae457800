// Reads a project's lockfile into the list of registry packages the guardrails check.
// Arborist's virtual tree (no install, no network) gives the same view npm itself has:
// aliases resolved to real names, links and workspaces told apart, bundled dependencies marked.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Arborist from '@npmcli/arborist';
import npa from 'npm-package-arg';
import semver from 'semver';
import { isLockwardenError, LockwardenError } from '../errors.js';
import { createDiskCache } from '../sources/disk-cache.js';
import { TOOL_VERSION } from '../version.js';
import { mergeInventories, SKIP_REASONS, type Source, tarballMismatch } from './build-inventory.js';
import { locateLockfileLines } from './locate-lines.js';
import {
  detectLockfiles,
  LOCKFILE_NAMES,
  lockfileFormat,
  otherFormatWorkspaceFolders,
  readFormat,
} from './lockfile-formats.js';
import { describeJsonError, type LockfileDocument, parseLockfileText } from './parse-lockfile-text.js';
import { directoryFiles, textFiles } from './project-files.js';

export interface LockfileLocation {
  /** The lockfile, relative to the project directory (e.g. `package-lock.json`). */
  file: string;
  /** 1-based line of the entry's key. */
  line: number;
  /** Lockfile location: the `packages` key, or for lockfileVersion 1 the same form built from the nesting. */
  key: string;
}

export interface LockfileEntry {
  /** The real package name (for an alias, the package it points at). */
  name: string;
  version: string;
  /** The folder name when the package is installed under another name (`npm:` alias). */
  alias?: string;
  locations: LockfileLocation[];
  /** One shortest dependency path from the root, root first: `['my-app', 'a', 'b']`. */
  path: string[];
  /** True when every copy is only needed by dev / optional / peer dependencies / inside a bundle. */
  dev: boolean;
  optional: boolean;
  peer: boolean;
  bundled: boolean;
  resolved?: string;
  integrity?: string;
}

/** A lockfile entry that is not fetched from a registry, so registry facts do not apply. */
export interface SkippedEntry {
  name: string;
  /** Where it comes from: `workspace`, `file:vendor/x`, `git+ssh://...`, a tarball URL. */
  spec: string;
  reason: string;
  location?: LockfileLocation;
}

export interface LockfileInventory {
  /** Absolute path of the lockfile read (for text read with `readLockfileText`, the name given). */
  file: string;
  lockfileVersion: number;
  /** Root package name. */
  root: string;
  entries: LockfileEntry[];
  skipped: SkippedEntry[];
  warnings: string[];
}

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
/** How many examples a warning lists. */
const EXAMPLES = 3;

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
    return loadInventory({
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

const INVENTORY_CACHE_FORMAT = 1;

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
  const inventory = await loadInventory({
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
    return await loadInventory({
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

async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

interface LoadInput {
  /** Directory Arborist loads (the project, or a temp copy). */
  projectDir: string;
  text: string;
  /** What `LockfileInventory.file` reports. */
  file: string;
  /** The lockfile as named in locations and messages. */
  display: string;
  /** The root package.json as named in messages. */
  packageJsonDisplay: string;
  /** Root name when neither package.json nor the lockfile names the project. */
  fallbackRoot: string;
}

async function loadInventory(input: LoadInput): Promise<LockfileInventory> {
  const { document, warnings } = parseLockfileText(input.text, input.display);
  const lines = locateLockfileLines(input.text);
  const packageJson = await readOptionalText(path.join(input.projectDir, 'package.json'));
  let packageName: string | undefined;
  if (packageJson !== undefined) {
    try {
      const manifest: unknown = JSON.parse(packageJson);
      if (manifest !== null && typeof manifest === 'object')
        packageName = nonEmpty((manifest as { name?: unknown }).name);
    } catch (err) {
      // Arborist then silently uses the lockfile's copy of the root manifest; say so.
      warnings.push(
        `${input.packageJsonDisplay}: invalid JSON${describeJsonError(packageJson, err)}; the root dependencies come from the lockfile`,
      );
    }
  }
  let tree: Arborist.Node;
  try {
    tree = await new Arborist({ path: input.projectDir }).loadVirtual();
  } catch (err) {
    const message = (err as Error).message;
    // Arborist looks dependency names up in plain objects, so `constructor` or `__proto__`
    // finds an Object method and fails with this message; npm itself cannot install those.
    const hint = /accept field must be a string/.test(message)
      ? ' (a dependency named like an Object property, such as constructor or __proto__?)'
      : '';
    throw new LockwardenError(
      'ELOCKFILE',
      `${input.display}: npm's lockfile reader (Arborist) rejected it: ${message}${hint}`,
      { cause: err },
    );
  }
  // Not tree.packageName: without a package.json Arborist names the root after its folder,
  // which for a copy is a temp directory.
  const rootName =
    packageName ?? nonEmpty(rootEntryName(document)) ?? nonEmpty(document.name) ?? input.fallbackRoot;
  const inventory = collectInventory(tree, document, lines, input, rootName);
  inventory.warnings.unshift(...warnings);
  return inventory;
}

interface Accumulator {
  entry: LockfileEntry;
  firstLine: number;
}

function collectInventory(
  tree: Arborist.Node,
  document: LockfileDocument,
  lines: Map<string, number>,
  input: LoadInput,
  rootName: string,
): LockfileInventory {
  const warnings: string[] = [];
  const previous = shortestPaths(tree);
  const specTypes = new Map<string, string | undefined>();
  const unlocated: string[] = [];
  const unreachable: string[] = [];
  const mismatched: string[] = [];

  const locate = (node: Arborist.Node): LockfileLocation => {
    const line = lines.get(node.location);
    if (line === undefined) unlocated.push(node.location);
    return { file: input.display, line: line ?? 1, key: node.location };
  };
  const pathOf = (node: Arborist.Node): string[] => {
    const names: string[] = [];
    if (previous.has(node)) {
      for (let n: Arborist.Node | null | undefined = node; n && !n.isProjectRoot; n = previous.get(n)) {
        names.push(displayName(n));
      }
    } else {
      // Not reachable from the root (stale or extraneous): explain it by where it sits instead.
      for (let n: Arborist.Node | null = node; n && !n.isProjectRoot; n = n.parent ?? n.fsParent) {
        names.push(n.isTop ? n.location : displayName(n));
      }
    }
    names.push(rootName);
    return names.reverse();
  };

  const byId = new Map<string, Accumulator>();
  const skipped = new Map<string, SkippedEntry>();
  const skip = (entry: SkippedEntry) => {
    const id = `${entry.name}\0${entry.spec}`;
    if (!skipped.has(id)) skipped.set(id, entry);
  };

  for (const node of tree.inventory.values()) {
    if (node.isProjectRoot) continue;
    if (node.isLink) {
      const target = node.target;
      const targetLocation = target?.location ?? node.realpath;
      skip({
        name: node.packageName,
        spec: node.isWorkspace ? 'workspace' : `file:${toPosix(path.relative(tree.path, node.realpath))}`,
        reason: node.isWorkspace
          ? `workspace ${targetLocation}: local source, not from a registry`
          : `linked folder ${targetLocation}: local source, not from a registry`,
        location: locate(node),
      });
      continue;
    }
    if (node.isTop) {
      // A folder outside node_modules (a link target): it is reported through its link.
      if (node.linksIn.size === 0) {
        skip({
          name: node.packageName,
          spec: `file:${node.location}`,
          reason: `local folder ${node.location} with no link to it (stale entry?): not from a registry`,
          location: locate(node),
        });
      }
      continue;
    }

    const inBundle = node.inBundle;
    const source = sourceOf(node, inBundle, tree.path, specTypes);
    if (source.kind !== 'registry') {
      skip({
        name: node.packageName,
        spec: source.spec,
        reason: SKIP_REASONS[source.kind],
        location: locate(node),
      });
      continue;
    }
    if (!node.version) {
      skip({
        name: node.packageName,
        spec: node.resolved ?? '',
        reason: 'no version in the lockfile entry',
        location: locate(node),
      });
      continue;
    }
    if (node.resolved && !inBundle) {
      const mismatch = tarballMismatch(node.resolved, node.packageName, node.version);
      if (mismatch !== undefined)
        mismatched.push(`${node.location} (${node.packageName}@${node.version}) ${mismatch}`);
    }
    if (!previous.has(node)) unreachable.push(node.location);

    const location = locate(node);
    const id = `${node.packageName}@${node.version}`;
    const found = byId.get(id);
    if (found === undefined) {
      const entry: LockfileEntry = {
        name: node.packageName,
        version: node.version,
        ...(node.name === node.packageName ? {} : { alias: node.name }),
        locations: [location],
        path: pathOf(node),
        dev: node.dev,
        optional: node.optional,
        peer: node.peer,
        bundled: inBundle,
        ...(node.resolved ? { resolved: node.resolved } : {}),
        ...(node.integrity ? { integrity: node.integrity } : {}),
      };
      byId.set(id, { entry, firstLine: location.line });
      continue;
    }
    const entry = found.entry;
    entry.locations.push(location);
    entry.dev &&= node.dev;
    entry.optional &&= node.optional;
    entry.peer &&= node.peer;
    entry.bundled &&= inBundle;
    const candidatePath = pathOf(node);
    if (previous.has(node) && candidatePath.length < entry.path.length) entry.path = candidatePath;
    if (entry.alias === undefined && node.name !== node.packageName) entry.alias = node.name;
    // resolved/integrity describe the first copy in the file; a copy from inside a bundle has none.
    if (location.line < found.firstLine || (entry.resolved === undefined && node.resolved)) {
      if (node.resolved) entry.resolved = node.resolved;
      if (node.integrity) entry.integrity = node.integrity;
      found.firstLine = Math.min(found.firstLine, location.line);
    }
  }

  warnings.push(...edgeWarnings(tree));
  if (unreachable.length > 0) {
    warnings.push(
      `${unreachable.length} lockfile entries are not reachable from the root (stale or extraneous?) e.g. ${examples(unreachable)}`,
    );
  }
  if (mismatched.length > 0) {
    warnings.push(
      `${mismatched.length} entries resolve to a tarball of another package or version e.g. ${examples(mismatched)}`,
    );
  }
  if (unlocated.length > 0) {
    warnings.push(
      `${unlocated.length} locations were not found in the lockfile text (line 1 reported) e.g. ${examples(unlocated)}`,
    );
  }
  const nodeErrors = [...tree.inventory.values()].flatMap((node) =>
    (node.errors ?? []).map((err) => `${node.location || '(root)'}: ${err.message}`),
  );
  if (nodeErrors.length > 0) {
    warnings.push(
      `${nodeErrors.length} lockfile entries could not be read fully e.g. ${examples(nodeErrors)}`,
    );
  }

  const entries = [...byId.values()].map(({ entry }) => {
    entry.locations.sort((a, b) => a.line - b.line || compareText(a.key, b.key));
    return entry;
  });
  entries.sort((a, b) => compareText(a.name, b.name) || compareVersions(a.version, b.version));
  const skippedList = [...skipped.values()].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.spec, b.spec),
  );
  return {
    file: input.file,
    lockfileVersion: document.lockfileVersion,
    root: rootName,
    entries,
    skipped: skippedList,
    warnings,
  };
}

/** A package as a dependency path shows it: an alias shows both names, as package.json does. */
function displayName(node: Arborist.Node): string {
  if (node.isTop || node.name === node.packageName) return node.packageName;
  return `${node.name} (npm:${node.packageName})`;
}

/**
 * BFS from the root over dependency edges, once for the whole tree: for every reachable node,
 * the node it was first reached from. Links are crossed to their targets so that workspace
 * dependencies get a path through the workspace.
 */
function shortestPaths(tree: Arborist.Node): Map<Arborist.Node, Arborist.Node | null> {
  const previous = new Map<Arborist.Node, Arborist.Node | null>([[tree, null]]);
  const queue: Arborist.Node[] = [tree];
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head]!;
    for (const edge of from.edgesOut.values()) {
      let to = edge.to;
      if (to === null || to === undefined) continue;
      if (to.isLink) to = to.target;
      if (to === null || to === undefined || previous.has(to)) continue;
      previous.set(to, from);
      queue.push(to);
    }
  }
  return previous;
}

function sourceOf(
  node: Arborist.Node,
  inBundle: boolean,
  rootPath: string,
  specTypes: Map<string, string | undefined>,
): Source {
  const resolved = node.resolved;
  if (resolved && !/^https?:/i.test(resolved)) {
    if (resolved.startsWith('file:')) {
      const target = resolved.slice('file:'.length);
      const relative = path.isAbsolute(target) ? toPosix(path.relative(rootPath, target)) : target;
      return { kind: 'file', spec: `file:${relative}` };
    }
    const type = specType(node.packageName, resolved, specTypes);
    return { kind: type === 'git' ? 'git' : 'unknown', spec: resolved };
  }
  // Bundled copies arrive inside their parent's tarball: whatever that parent is, they carry
  // a registry name@version the guardrails can check.
  if (inBundle) return { kind: 'registry' };
  for (const edge of node.edgesIn) {
    const type = specType(edge.name, edge.spec, specTypes);
    if (type === 'git') return { kind: 'git', spec: resolved || edge.spec };
    if (type === 'remote') return { kind: 'remote', spec: resolved || edge.spec };
    if (type === 'file' || type === 'directory') return { kind: 'file', spec: edge.spec };
  }
  if (
    resolved &&
    node.edgesIn.size === 0 &&
    tarballMismatch(resolved, node.packageName, node.version) !== undefined
  ) {
    // Nothing asks for it, so only the URL can tell; a URL not shaped like a registry tarball is remote.
    return { kind: 'remote', spec: resolved };
  }
  return { kind: 'registry' };
}

/**
 * npm-package-arg's type for a spec (`range`, `git`, `remote`, `file`, ...). Cached per spec,
 * and plain ranges, most specs, skip npm-package-arg, whose URL parsing is slow on big trees.
 */
function specType(name: string, spec: string, cache: Map<string, string | undefined>): string | undefined {
  const id = `${name}\0${spec}`;
  if (cache.has(id)) return cache.get(id);
  let type: string | undefined;
  if (spec === '' || semver.validRange(spec, { loose: true }) !== null) {
    type = 'range';
  } else {
    try {
      type = npa.resolve(name, spec).type;
    } catch {
      type = undefined;
    }
  }
  cache.set(id, type);
  return type;
}

function edgeWarnings(tree: Arborist.Node): string[] {
  const missing: string[] = [];
  const invalid: string[] = [];
  const ranges = new Map<string, semver.Range | null>();
  for (const node of tree.inventory.values()) {
    for (const edge of node.edgesOut.values()) {
      const from = node.location || '(root)';
      if (edge.to === null || edge.to === undefined) {
        if (!edge.optional && !edge.peer) missing.push(`${from} > ${edge.name}@${edge.spec}`);
      } else if (isInvalid(edge, edge.to, ranges)) {
        invalid.push(`${from} > ${edge.name}@${edge.spec} (found ${edge.to.version || 'no version'})`);
      }
    }
  }
  const out: string[] = [];
  if (missing.length > 0) {
    out.push(`${missing.length} missing dependency edges (stale entries?) e.g. ${examples(missing)}`);
  }
  if (invalid.length > 0) {
    out.push(
      `${invalid.length} invalid dependency edges (version does not match the range) e.g. ${examples(invalid)}`,
    );
  }
  return out;
}

/**
 * Arborist's own check (`edge.invalid`) parses every spec with npm-package-arg, which costs
 * about a second on a 4,000-package tree; plain ranges, nearly all of them, are checked here
 * with one parsed range per distinct spec, and only the rest go to Arborist.
 */
function isInvalid(
  edge: Arborist.Edge,
  to: Arborist.Node,
  ranges: Map<string, semver.Range | null>,
): boolean {
  const spec = edge.spec;
  let range = ranges.get(spec);
  if (range === undefined) {
    range = parseRange(spec);
    ranges.set(spec, range);
  }
  if (range === null) return edge.invalid;
  if (!to.version) return true;
  return !range.test(to.version);
}

function parseRange(spec: string): semver.Range | null {
  // '' means any version; tags, aliases, URLs and paths are not ranges.
  if (spec === '' || spec === '*') return new semver.Range('*', { loose: true });
  try {
    return new semver.Range(spec, { loose: true });
  } catch {
    return null;
  }
}

function examples(items: string[]): string {
  const shown = items.slice(0, EXAMPLES).join(', ');
  return items.length > EXAMPLES ? `${shown}, ...` : shown;
}

function rootEntryName(document: LockfileDocument): unknown {
  const rootEntry = document.packages?.[''];
  return rootEntry !== null && typeof rootEntry === 'object'
    ? (rootEntry as { name?: unknown }).name
    : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareVersions(a: string, b: string): number {
  const va = semver.valid(a, { loose: true });
  const vb = semver.valid(b, { loose: true });
  if (va !== null && vb !== null) return semver.compare(va, vb, { loose: true }) || compareText(a, b);
  return compareText(a, b);
}
