// The format-neutral half of the pnpm, yarn and bun readers: each turns its lockfile into a small
// dependency graph (importers, packages, edges), and this builds the same inventory Arborist's
// tree gives for npm lockfiles: one entry per name@version with every location, one shortest
// dependency path, and npm's dev / optional flags (reachable only through such edges).
import path from 'node:path';
import semver from 'semver';
import { readTarballUrl } from '../policy/read-tarball-url.js';
import { copySourcesOf, setSources, trackCopySources } from './copy-sources.js';
import type {
  LockfileEntry,
  LockfileInventory,
  LockfileLocation,
  SkippedEntry,
} from './lockfile-inventory.js';

export interface GraphEdge {
  /** Id of the node it leads to. */
  to: string;
  /** An importer's devDependencies. */
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
}

export interface GraphNode {
  id: string;
  /** The real package name (for an alias, the package it points at). */
  name: string;
  /** Set for registry packages; absent for importers and skipped sources. */
  version?: string;
  /** The name it is installed under, when that differs (`npm:` alias). */
  alias?: string;
  location?: LockfileLocation;
  resolved?: string;
  integrity?: string;
  /** yarn Berry's own checksum of the package. */
  checksum?: string;
  /** Not fetched from a registry: listed with the reason, never checked. */
  skip?: { spec: string; reason: string };
  /** The project root or a workspace: a starting point, never an entry. */
  importer?: boolean;
  edges: GraphEdge[];
}

export interface PackageGraph {
  /** What `LockfileInventory.file` reports. */
  file: string;
  lockfileVersion: number;
  root: string;
  /** Id of the root importer; every other importer hangs off it, as npm links workspaces. */
  rootId: string;
  nodes: Map<string, GraphNode>;
  warnings: string[];
}

/** Where a package comes from, when it is not fetched from a registry. */
export type NonRegistry = 'git' | 'file' | 'remote' | 'unknown';
export type Source = { kind: 'registry' } | { kind: NonRegistry; spec: string };

export const SKIP_REASONS: Record<NonRegistry, string> = {
  git: 'git dependency: fetched from a git host, not from a registry',
  file: 'local file dependency: not from a registry',
  remote: 'remote tarball URL: not from a registry',
  unknown: 'unrecognised source: not from a registry',
};

const EXAMPLES = 3;

export function examples(items: readonly string[]): string {
  const shown = items.slice(0, EXAMPLES).join(', ');
  return items.length > EXAMPLES ? `${shown}, ...` : shown;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareVersions(a: string, b: string): number {
  const va = semver.valid(a, { loose: true });
  const vb = semver.valid(b, { loose: true });
  if (va !== null && vb !== null) return semver.compare(va, vb, { loose: true }) || compareText(a, b);
  return compareText(a, b);
}

/**
 * Nodes reached from the importers through edges `follow` accepts. Workspaces count as reached
 * from the root (npm links every workspace into the root), and their dev edges are dev too.
 */
function reach(graph: PackageGraph, follow: (edge: GraphEdge) => boolean): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const node of graph.nodes.values()) {
    if (node.importer) {
      seen.add(node.id);
      queue.push(node.id);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    for (const edge of graph.nodes.get(queue[head]!)!.edges) {
      if (seen.has(edge.to) || !follow(edge) || !graph.nodes.has(edge.to)) continue;
      seen.add(edge.to);
      queue.push(edge.to);
    }
  }
  return seen;
}

/** BFS from the root: for every reachable node, the node it was first reached from. */
function shortestPaths(graph: PackageGraph): Map<string, string | null> {
  const previous = new Map<string, string | null>([[graph.rootId, null]]);
  const queue = [graph.rootId];
  const importers = [...graph.nodes.values()].filter((n) => n.importer && n.id !== graph.rootId);
  for (let head = 0; head < queue.length; head++) {
    const from = graph.nodes.get(queue[head]!)!;
    const next = from.edges.map((e) => e.to);
    if (from.id === graph.rootId) next.push(...importers.map((n) => n.id));
    for (const to of next) {
      if (previous.has(to) || !graph.nodes.has(to)) continue;
      previous.set(to, from.id);
      queue.push(to);
    }
  }
  return previous;
}

export function buildInventory(graph: PackageGraph): LockfileInventory {
  const prod = reach(graph, (e) => !e.dev);
  const required = reach(graph, (e) => !e.optional);
  const direct = reach(graph, (e) => !e.peer);
  const previous = shortestPaths(graph);
  const warnings = [...graph.warnings];

  const display = (node: GraphNode): string =>
    node.alias !== undefined && node.alias !== node.name ? `${node.alias} (npm:${node.name})` : node.name;
  const pathOf = (node: GraphNode): string[] => {
    const names: string[] = [];
    if (previous.has(node.id)) {
      for (let id: string | null | undefined = node.id; id && id !== graph.rootId; id = previous.get(id)) {
        names.push(display(graph.nodes.get(id)!));
      }
    } else {
      names.push(node.location?.key ?? display(node));
    }
    names.push(graph.root);
    return names.reverse();
  };

  const byId = new Map<string, { entry: LockfileEntry; firstLine: number }>();
  const skipped = new Map<string, SkippedEntry>();
  const unreachable: string[] = [];
  const unread: string[] = [];
  const copies = trackCopySources();
  for (const node of graph.nodes.values()) {
    if (node.importer && node.id === graph.rootId) continue;
    if (node.skip) {
      const id = `${node.name}\0${node.skip.spec}`;
      if (!skipped.has(id)) {
        skipped.set(id, {
          name: node.alias ?? node.name,
          spec: node.skip.spec,
          reason: node.skip.reason,
          ...(node.location ? { location: node.location } : {}),
        });
      }
      continue;
    }
    if (node.importer || node.version === undefined) continue;
    if (!previous.has(node.id)) unreachable.push(node.location?.key ?? node.id);
    // A registry entry is fetched from its URL whatever the URL names: the lockfile-source rule
    // judges its host and, where the URL is in the registry layout, the name@version it names.
    const unreadable = node.resolved ? unreadableTarball(node.resolved) : undefined;
    if (unreadable !== undefined) {
      unread.push(`${node.location?.key ?? node.id} (${node.name}@${node.version}) ${unreadable}`);
    }
    const reachable = previous.has(node.id);
    // An entry nothing reaches (stale) is checked as if production: flags only ever relax a gate.
    const dev = reachable && !prod.has(node.id);
    const optional = reachable && !required.has(node.id);
    const peer = reachable && !direct.has(node.id);
    const key = `${node.name}@${node.version}`;
    const location = node.location ?? { file: graph.file, line: 1, key: node.id };
    const found = byId.get(key);
    if (found === undefined) {
      byId.set(key, {
        entry: {
          name: node.name,
          version: node.version,
          ...(node.alias !== undefined && node.alias !== node.name ? { alias: node.alias } : {}),
          locations: [location],
          path: pathOf(node),
          dev,
          optional,
          peer,
          bundled: false,
          ...(node.resolved ? { resolved: node.resolved } : {}),
          ...(node.integrity ? { integrity: node.integrity } : {}),
          ...(node.checksum ? { checksum: node.checksum } : {}),
        },
        firstLine: location.line,
      });
      addDependencies(byId.get(key)!.entry, node, graph);
      copies.add(byId.get(key)!.entry, location, node);
      continue;
    }
    const entry = found.entry;
    addDependencies(entry, node, graph);
    if (!entry.locations.some((l) => l.line === location.line && l.key === location.key)) {
      entry.locations.push(location);
      copies.add(entry, location, node);
    }
    entry.dev &&= dev;
    entry.optional &&= optional;
    entry.peer &&= peer;
    const candidate = pathOf(node);
    if (reachable && candidate.length < entry.path.length) entry.path = candidate;
    if (entry.alias === undefined && node.alias !== undefined && node.alias !== node.name) {
      entry.alias = node.alias;
    }
    // resolved/integrity describe the first copy in the file, as for npm lockfiles.
    if (location.line < found.firstLine || (entry.resolved === undefined && node.resolved)) {
      if (node.resolved) entry.resolved = node.resolved;
      if (node.integrity) entry.integrity = node.integrity;
      if (node.checksum) entry.checksum = node.checksum;
      found.firstLine = Math.min(found.firstLine, location.line);
    }
  }
  copies.finish();
  if (unread.length > 0) warnings.push(unreadableTarballsWarning(unread));
  if (unreachable.length > 0) {
    warnings.push(
      `${unreachable.length} lockfile entries are not reachable from the root (stale or extraneous?) e.g. ${examples(unreachable)}`,
    );
  }
  const entries = [...byId.values()].map(({ entry }) => {
    entry.locations.sort((a, b) => a.line - b.line || compareText(a.key, b.key));
    return entry;
  });
  entries.sort((a, b) => compareText(a.name, b.name) || compareVersions(a.version, b.version));
  return {
    file: graph.file,
    lockfileVersion: graph.lockfileVersion,
    root: graph.root,
    entries,
    skipped: [...skipped.values()].sort((a, b) => compareText(a.name, b.name) || compareText(a.spec, b.spec)),
    warnings,
  };
}

/**
 * One inventory for several lockfiles of one project (the CLI audits every lockfile it finds):
 * the same name@version is checked once and reported at its locations in every file.
 */
export function mergeInventories(inventories: readonly LockfileInventory[]): LockfileInventory {
  const [first, ...rest] = inventories;
  if (!first) throw new Error('mergeInventories needs at least one inventory');
  if (rest.length === 0) return first;
  const byId = new Map<string, LockfileEntry>();
  const skipped = new Map<string, SkippedEntry>();
  const warnings: string[] = [];
  for (const inventory of inventories) {
    for (const e of inventory.entries) {
      const key = `${e.name}@${e.version}`;
      const found = byId.get(key);
      if (!found) {
        byId.set(key, { ...e, locations: [...e.locations] });
        continue;
      }
      const sources = [...copySourcesOf(found), ...copySourcesOf(e)];
      found.locations.push(...e.locations);
      setSources(found, sources);
      found.dev &&= e.dev;
      found.optional &&= e.optional;
      found.peer &&= e.peer;
      found.bundled &&= e.bundled;
      if (e.path.length < found.path.length) found.path = e.path;
      found.resolved ??= e.resolved;
      found.integrity ??= e.integrity;
      found.checksum ??= e.checksum;
      if (found.resolved === undefined) delete found.resolved;
      if (found.integrity === undefined) delete found.integrity;
      if (found.checksum === undefined) delete found.checksum;
    }
    for (const s of inventory.skipped) {
      const key = `${s.location?.file ?? ''}\0${s.name}\0${s.spec}`;
      if (!skipped.has(key)) skipped.set(key, s);
    }
    const label = path.basename(inventory.file);
    warnings.push(...inventory.warnings.map((w) => (w.startsWith(label) ? w : `${label}: ${w}`)));
  }
  const entries = [...byId.values()].sort(
    (a, b) => compareText(a.name, b.name) || compareVersions(a.version, b.version),
  );
  return {
    ...first,
    entries,
    skipped: [...skipped.values()].sort((a, b) => compareText(a.name, b.name) || compareText(a.spec, b.spec)),
    warnings,
  };
}

/** 1-based line of a character offset, by binary search over the line starts. */
export function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * Why a tarball URL does not belong to name@version, or undefined when it does: it names another
 * package or version, or is not in the registry layout (`<name>/-/<unscoped name>-<version>.tgz`).
 */
export function tarballMismatch(resolved: string, name: string, version: string): string | undefined {
  const read = readTarballUrl(resolved);
  if ('unreadable' in read) return read.unreadable;
  return read.name === name && read.version === version ? undefined : `resolves to ${read.tarball}`;
}

/**
 * Why an entry's tarball URL cannot be read as a registry tarball, or undefined when it can. One
 * that names another package or version is the lockfile-source rule's finding; one in another
 * layout (another registry's download path) cannot be compared, so it is only said.
 */
export function unreadableTarball(resolved: string): string | undefined {
  const read = readTarballUrl(resolved);
  return 'unreadable' in read ? read.unreadable : undefined;
}

/** The warning for entries whose URL `unreadableTarball` cannot read (`<where> (<spec>) <why>`). */
export function unreadableTarballsWarning(unread: readonly string[]): string {
  return `${unread.length} entries resolve to a tarball URL whose package and version cannot be read (not a registry's <name>/-/<name>-<version>.tgz), so the lockfile-source rule cannot check them e.g. ${examples(unread)}`;
}

/** Records what this copy of a package depends on (registry packages, by name@version). */
function addDependencies(entry: LockfileEntry, node: GraphNode, graph: PackageGraph): void {
  for (const edge of node.edges) {
    const to = graph.nodes.get(edge.to);
    if (!to || to.importer || to.skip || to.version === undefined) continue;
    const id = `${to.name}@${to.version}`;
    entry.dependsOn ??= [];
    if (!entry.dependsOn.includes(id)) entry.dependsOn.push(id);
  }
}
