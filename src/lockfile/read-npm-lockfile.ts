// npm's lockfile (package-lock.json, npm-shrinkwrap.json) read into the inventory.
// Arborist's virtual tree (no install, no network) gives the same view npm itself has:
// aliases resolved to real names, links and workspaces told apart, bundled dependencies marked.
import path from 'node:path';
import Arborist from '@npmcli/arborist';
import npa from 'npm-package-arg';
import semver from 'semver';
import { LockwardenError } from '../errors.js';
import {
  compareText,
  compareVersions,
  examples,
  SKIP_REASONS,
  type Source,
  tarballMismatch,
  unreadableTarball,
  unreadableTarballsWarning,
} from './build-inventory.js';
import { trackCopySources } from './copy-sources.js';
import { locateLockfileLines } from './locate-lines.js';
import type {
  LockfileEntry,
  LockfileInventory,
  LockfileLocation,
  SkippedEntry,
} from './lockfile-inventory.js';
import { describeJsonError, type LockfileDocument, parseLockfileText } from './parse-lockfile-text.js';
import { readOptionalText, toPosix } from './project-files.js';

export interface NpmLockfileInput {
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

/** Reads npm's lockfile in `input.projectDir` through Arborist. Throws `ELOCKFILE` when Arborist rejects it. */
export async function readNpmLockfile(input: NpmLockfileInput): Promise<LockfileInventory> {
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
  input: NpmLockfileInput,
  rootName: string,
): LockfileInventory {
  const warnings: string[] = [];
  const previous = shortestPaths(tree);
  const specTypes = new Map<string, string | undefined>();
  const unlocated: string[] = [];
  const unreachable: string[] = [];
  const unread: string[] = [];
  const copies = trackCopySources();

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
    // One naming another package's tarball is the lockfile-source rule's finding; one it cannot read is said.
    if (node.resolved && !inBundle) {
      const unreadable = unreadableTarball(node.resolved);
      if (unreadable !== undefined)
        unread.push(`${node.location} (${node.packageName}@${node.version}) ${unreadable}`);
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
      addDependencies(entry, node);
      byId.set(id, { entry, firstLine: location.line });
      copies.add(entry, location, {
        ...(node.resolved ? { resolved: node.resolved } : {}),
        ...(node.integrity ? { integrity: node.integrity } : {}),
      });
      continue;
    }
    const entry = found.entry;
    addDependencies(entry, node);
    entry.locations.push(location);
    copies.add(entry, location, {
      ...(node.resolved ? { resolved: node.resolved } : {}),
      ...(node.integrity ? { integrity: node.integrity } : {}),
    });
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

  copies.finish();
  warnings.push(...edgeWarnings(tree));
  if (unreachable.length > 0) {
    warnings.push(
      `${unreachable.length} lockfile entries are not reachable from the root (stale or extraneous?) e.g. ${examples(unreachable)}`,
    );
  }
  if (unread.length > 0) warnings.push(unreadableTarballsWarning(unread));
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

function rootEntryName(document: LockfileDocument): unknown {
  const rootEntry = document.packages?.[''];
  return rootEntry !== null && typeof rootEntry === 'object'
    ? (rootEntry as { name?: unknown }).name
    : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Records what this copy of a package depends on (registry packages, by name@version). */
function addDependencies(
  entry: LockfileEntry,
  node: {
    edgesOut: Map<
      string,
      { to: { packageName: string; version?: string | undefined; isLink?: boolean } | null }
    >;
  },
): void {
  for (const edge of node.edgesOut.values()) {
    const to = edge.to;
    if (!to || to.isLink || !to.version) continue;
    const id = `${to.packageName}@${to.version}`;
    entry.dependsOn ??= [];
    if (!entry.dependsOn.includes(id)) entry.dependsOn.push(id);
  }
}
