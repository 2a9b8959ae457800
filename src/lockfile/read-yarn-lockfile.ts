// yarn.lock of yarn classic (v1) and of yarn Berry (2+, with `__metadata`), parsed as each yarn
// parses its own (see parseYarnLock). Entries are keyed by the descriptors that
// resolved to them (`left-pad@^1.0.0, left-pad@^1.1.0`); the project's own dependencies come from
// package.json (classic does not lock them) or from Berry's `workspace:` entries.
import * as yarnClassicLockfile from '@yarnpkg/lockfile';
import { FAILSAFE_SCHEMA, load as loadYaml } from 'js-yaml';
import npa from 'npm-package-arg';
import semver from 'semver';
import { isLockwardenError } from '../errors.js';
import {
  buildInventory,
  type GraphEdge,
  type GraphNode,
  type NonRegistry,
  SKIP_REASONS,
  type Source,
  tarballMismatch,
} from './build-inventory.js';
import type { LockfileInventory } from './lockfile-inventory.js';
import {
  dependencyMap,
  type FormatInput,
  isRecord,
  location,
  lockfileError,
  readManifest,
  refuseYamlAliases,
  splitIdent,
} from './project-files.js';

/**
 * The line of every descriptor in the file's top-level keys. A key line is the only kind that
 * starts in column 0 and is not a comment; classic quotes descriptors one by one, Berry the list.
 */
function descriptorLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let line = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const c = text.charCodeAt(start);
    if (c !== 0x20 && c !== 0x09 && c !== 0x23 && c !== 0x0a && c !== 0x0d) {
      const key = text.slice(start, end).replace(/\r$/, '').replace(/:\s*$/, '');
      for (const part of key.split(',')) {
        const descriptor = part.trim().replace(/^"/, '').replace(/"$/, '');
        if (descriptor !== '' && !lines.has(descriptor)) lines.set(descriptor, line);
      }
    }
    start = end + 1;
  }
  return lines;
}

/**
 * Classic lockfiles go through yarn classic's own parser (@yarnpkg/lockfile): on a 2,000-package
 * yarn.lock it takes a fifth of the time of @yarnpkg/parsers' grammar for that format. Berry's
 * are YAML, read as Berry reads them: js-yaml with the failsafe schema (every scalar a string).
 */
function parseYarnLock(input: FormatInput, warnings: string[]): { data: unknown; berry: boolean } {
  const berry = /^__metadata:/m.test(input.text);
  try {
    if (berry) {
      refuseYamlAliases(input);
      return {
        data: loadYaml(input.text, { schema: FAILSAFE_SCHEMA, json: true, filename: input.display }),
        berry,
      };
    }
    // A CommonJS bundle: named export where the loader finds it, else on the default export.
    const parse = yarnClassicLockfile.parse ?? yarnClassicLockfile.default.parse;
    const result = parse(input.text, input.display);
    if (result.type === 'conflict') {
      throw lockfileError(
        input.display,
        'unresolved merge conflict markers; run yarn install to fix the lockfile',
      );
    }
    if (result.type === 'merge') {
      warnings.push(
        `${input.display}: merge conflict markers, read as yarn would merge them; run yarn install`,
      );
    }
    return { data: result.object, berry };
  } catch (err) {
    if (isLockwardenError(err)) throw err;
    throw lockfileError(
      input.display,
      `not a readable yarn.lock: ${(err as Error).message.split('\n')[0]}`,
      err,
    );
  }
}

export async function readYarnLockfile(input: FormatInput): Promise<LockfileInventory> {
  const warnings: string[] = [];
  const { data, berry } = parseYarnLock(input, warnings);
  if (!isRecord(data)) throw lockfileError(input.display, 'not a yarn.lock (no entries)');
  const lines = descriptorLines(input.text);
  const manifest = await readManifest(input.files, 'package.json', warnings);
  if (!berry && manifest === undefined) {
    warnings.push(
      'package.json not found: yarn classic does not lock the project’s own dependencies, so entries nothing depends on are taken as direct dependencies',
    );
  }
  let root = nonEmpty(manifest?.name) ?? input.fallbackRoot;

  // One node per top-level key, found by any of its descriptors.
  const nodes = new Map<string, GraphNode>();
  const byDescriptor = new Map<string, GraphNode>();
  const entries = new Map<GraphNode, Record<string, unknown>>();
  const workspaceDirs = new Map<string, GraphNode>();
  for (const [key, value] of Object.entries(data)) {
    if (key === '__metadata' || !isRecord(value)) continue;
    const descriptors = key
      .split(',')
      .map((d) => d.trim())
      .filter((d) => d !== '');
    const first = descriptors[0];
    if (first === undefined) continue;
    const line = lines.get(first);
    // Classic's parser splits `a@^1, a@^1.1:` into one key per descriptor: the line joins them.
    const id = line === undefined ? `key:${first}` : `line:${line}`;
    let node = nodes.get(id);
    if (node === undefined) {
      node = berry
        ? berryNode(id, first, value, input.display, line ?? 1)
        : classicNode(id, first, value, input.display, line ?? 1);
      nodes.set(node.id, node);
      entries.set(node, value);
      if (node.importer) workspaceDirs.set(workspaceDir(value.resolution), node);
    }
    for (const d of descriptors) byDescriptor.set(d, node);
  }

  const missing: string[] = [];
  const link = (from: GraphNode, name: string, range: string, flags: Omit<GraphEdge, 'to'>) => {
    const target =
      lookup(byDescriptor, name, range, berry) ??
      // Berry binds relative `file:`/`portal:` descriptors to the package that wrote them.
      byDescriptor.get(
        `${name}@${range}::locator=${encodeURIComponent(String(entries.get(from)?.resolution))}`,
      ) ??
      workspaceByName(nodes, name, range);
    if (target === undefined) {
      if (!flags.optional) missing.push(`${from.location?.key ?? from.name} > ${name}@${range}`);
      return;
    }
    if (target.name !== name && target.alias === undefined && !target.importer) target.alias = name;
    from.edges.push({ to: target.id, ...flags });
  };

  for (const [node, entry] of entries) {
    const meta = isRecord(entry.dependenciesMeta) ? entry.dependenciesMeta : {};
    // Berry merges a workspace's devDependencies into its entry: package.json tells them apart.
    const dev = node.importer ? await devNames(input, workspaceDir(entry.resolution), warnings) : new Set();
    for (const [name, range] of dependencyMap(entry.dependencies)) {
      const optional = isRecord(meta[name]) && meta[name].optional === true;
      link(node, name, range, { ...(dev.has(name) ? { dev: true } : {}), ...(optional ? { optional } : {}) });
    }
    for (const [name, range] of dependencyMap(entry.optionalDependencies)) {
      link(node, name, range, { optional: true });
    }
  }

  let rootNode = berry ? workspaceDirs.get('.') : undefined;
  if (rootNode) root = nonEmpty(manifest?.name) ?? rootNode.name;
  if (rootNode === undefined) {
    // Classic: the project and its workspaces are not in the lockfile; package.json lists them.
    rootNode = { id: 'importer:.', name: root, importer: true, edges: [] };
    nodes.set(rootNode.id, rootNode);
    const importers: [GraphNode, Record<string, unknown> | undefined][] = [[rootNode, manifest]];
    if (manifest && input.files.workspaces) {
      for (const dir of await input.files.workspaces(manifest)) {
        const own = await readManifest(input.files, `${dir}/package.json`, warnings);
        const ws: GraphNode = {
          id: `importer:${dir}`,
          name: nonEmpty(own?.name) ?? dir,
          importer: true,
          skip: { spec: 'workspace', reason: `workspace ${dir}: local source, not from a registry` },
          edges: [],
        };
        nodes.set(ws.id, ws);
        importers.push([ws, own]);
      }
    }
    for (const [importer, own] of importers) {
      if (own === undefined) continue;
      for (const [name, range] of dependencyMap(own.dependencies)) link(importer, name, range, {});
      for (const [name, range] of dependencyMap(own.devDependencies))
        link(importer, name, range, { dev: true });
      for (const [name, range] of dependencyMap(own.optionalDependencies)) {
        link(importer, name, range, { optional: true });
      }
    }
    if (manifest === undefined) {
      const reached = new Set([...nodes.values()].flatMap((n) => n.edges.map((e) => e.to)));
      for (const node of nodes.values()) {
        if (!node.importer && !reached.has(node.id)) rootNode.edges.push({ to: node.id });
      }
    }
  }
  if (missing.length > 0) {
    warnings.push(
      `${missing.length} dependencies have no entry in the lockfile (stale? run yarn install) e.g. ${missing.slice(0, 3).join(', ')}`,
    );
  }
  const lockfileVersion = berry ? Number((data.__metadata as Record<string, unknown>).version) || 0 : 1;
  return buildInventory({ file: input.file, lockfileVersion, root, rootId: rootNode.id, nodes, warnings });
}

function lookup(
  byDescriptor: Map<string, GraphNode>,
  name: string,
  range: string,
  berry: boolean,
): GraphNode | undefined {
  const found = byDescriptor.get(`${name}@${range}`);
  if (found || !berry) return found;
  // Berry writes plain semver ranges in keys with the default protocol.
  return /^[a-z]+:/.test(range) ? undefined : byDescriptor.get(`${name}@npm:${range}`);
}

function workspaceByName(nodes: Map<string, GraphNode>, name: string, range: string): GraphNode | undefined {
  if (!range.startsWith('workspace:') && !/^[\^~*]/.test(range)) return undefined;
  for (const node of nodes.values()) if (node.importer && node.name === name) return node;
  return undefined;
}

async function devNames(input: FormatInput, dir: string, warnings: string[]): Promise<Set<string>> {
  const own = await readManifest(input.files, dir === '.' ? 'package.json' : `${dir}/package.json`, []);
  if (own === undefined) {
    if (dir === '.') warnings.push('package.json not found: devDependencies are checked as dependencies');
    return new Set();
  }
  void warnings;
  return new Set(dependencyMap(own.devDependencies).keys());
}

function workspaceDir(resolution: unknown): string {
  if (typeof resolution !== 'string') return '.';
  const at = resolution.indexOf('@workspace:', 1);
  return at === -1 ? '.' : resolution.slice(at + '@workspace:'.length) || '.';
}

function classicNode(
  id: string,
  descriptor: string,
  entry: Record<string, unknown>,
  display: string,
  line: number,
): GraphNode {
  const [name, range] = splitIdent(descriptor);
  // `alias@npm:real@range`: the entry is the real package.
  const realName = range.startsWith('npm:') ? splitIdent(range.slice(4))[0] || name : name;
  const node: GraphNode = { id, name: realName, location: location(display, line, descriptor), edges: [] };
  if (realName !== name) node.alias = name;
  const version = typeof entry.version === 'string' ? entry.version : undefined;
  const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
  const source = classicSource(realName, range, version, resolved);
  if (source.kind === 'registry' && version) {
    node.version = version;
    if (resolved) node.resolved = resolved;
    const integrity = typeof entry.integrity === 'string' ? entry.integrity : fragmentIntegrity(resolved);
    if (integrity) node.integrity = integrity;
  } else {
    node.skip =
      source.kind === 'registry'
        ? { spec: resolved ?? range, reason: 'no version in the lockfile entry' }
        : { spec: source.spec, reason: SKIP_REASONS[source.kind] };
  }
  return node;
}

/**
 * Yarn classic before 1.10 wrote no `integrity:` line: the `#<hex>` fragment of `resolved` is the
 * tarball's SHA-1, which yarn verifies when the entry has no `integrity` (its tarball fetcher reads
 * the fragment as a hex SHA-1). Carried as the SRI it stands for, so that the entry is seen as
 * pinned (by SHA-1) rather than unpinned.
 */
export function fragmentIntegrity(resolved: string | undefined): string | undefined {
  // yarn takes what follows the first `#`, up to any next one.
  const at = resolved?.indexOf('#') ?? -1;
  const hex = at === -1 ? undefined : resolved!.slice(at + 1).split('#')[0];
  return hex !== undefined && /^[0-9a-f]{40}$/i.test(hex)
    ? `sha1-${Buffer.from(hex, 'hex').toString('base64')}`
    : undefined;
}

function classicSource(name: string, range: string, version: string | undefined, resolved?: string): Source {
  const spec = range.startsWith('npm:') ? range.slice(range.indexOf('@', 5) + 1) || '*' : range;
  // Nearly every spec is a plain range; npm-package-arg (URL parsing) only for the rest.
  let type: string | undefined = semver.validRange(spec, { loose: true }) === null ? undefined : 'range';
  if (type === undefined) {
    try {
      type = npa.resolve(name, spec).type;
    } catch {
      type = undefined;
    }
  }
  if (type === 'git') return { kind: 'git', spec: resolved ?? range };
  if (type === 'file' || type === 'directory' || range.startsWith('link:'))
    return { kind: 'file', spec: range };
  if (resolved === undefined) return { kind: 'registry' };
  if (!/^https?:/i.test(resolved)) {
    return /^git[+:]|^github:|^ssh:/.test(resolved)
      ? { kind: 'git', spec: resolved }
      : { kind: 'unknown', spec: resolved };
  }
  // A registry spec (range, version, tag) is fetched from its `resolved` URL as written, wherever
  // that points: a registry entry, whose host the lockfile-source rule judges. Only a URL spec is
  // a remote tarball.
  if (version && (type === 'range' || type === 'version' || type === 'tag')) return { kind: 'registry' };
  if (version && tarballMismatch(resolved, name, version) === undefined) return { kind: 'registry' };
  return {
    kind: type === 'remote' ? 'remote' : /codeload|github|gitlab|bitbucket/.test(resolved) ? 'git' : 'remote',
    spec: resolved,
  };
}

function berryNode(
  id: string,
  descriptor: string,
  entry: Record<string, unknown>,
  display: string,
  line: number,
): GraphNode {
  const resolution = typeof entry.resolution === 'string' ? entry.resolution : descriptor;
  const [locatorName, reference] = splitIdent(resolution);
  const node: GraphNode = { id, name: locatorName, location: location(display, line, descriptor), edges: [] };
  if (reference.startsWith('workspace:')) {
    const dir = reference.slice('workspace:'.length) || '.';
    node.importer = true;
    if (dir !== '.') {
      node.skip = { spec: 'workspace', reason: `workspace ${dir}: local source, not from a registry` };
    }
    return node;
  }
  const checksum = typeof entry.checksum === 'string' && entry.checksum !== '' ? entry.checksum : undefined;
  const registry = registryReference(reference);
  const version = typeof entry.version === 'string' ? entry.version : registry?.version;
  if (registry && version) {
    node.version = registry.version ?? version;
    // Berry records a tarball URL only where the registry's layout does not give it
    // (`npm:1.0.0::__archiveUrl=<url>`), and then fetches from that URL.
    if (registry.archiveUrl) node.resolved = registry.archiveUrl;
    if (checksum) node.checksum = checksum;
    return node;
  }
  // A registry descriptor (`name@npm:^1.0.0`) that the lockfile resolves to a tarball URL is
  // fetched from that URL (an immutable install keeps the lockfile's resolution): a registry entry
  // whose host the lockfile-source rule judges, not a URL dependency someone declared.
  if (/^https?:/i.test(reference) && version && registryRange(splitIdent(descriptor)[1])) {
    node.version = version;
    node.resolved = reference;
    if (checksum) node.checksum = checksum;
    return node;
  }
  const kind = berrySource(reference);
  // A local folder's reference carries yarn's bookkeeping (`#path::hash=...&locator=...`).
  const spec =
    kind === 'file' ? reference.replace(/[#:][:]?(hash|locator)=.*$/, '').replace(/#.*$/, '') : reference;
  node.skip = { spec, reason: SKIP_REASONS[kind] };
  return node;
}

/**
 * `npm:1.0.0` (with Berry's bindings, `::__archiveUrl=<url>`), or a patch of one
 * (`patch:name@npm%3A1.0.0#...`): the registry version it holds, and the tarball URL it binds.
 */
function registryReference(reference: string): { version?: string; archiveUrl?: string } | undefined {
  if (reference.startsWith('npm:')) {
    const bind = reference.indexOf('::');
    if (bind === -1) return { version: reference.slice(4) };
    const archiveUrl = new URLSearchParams(reference.slice(bind + 2)).get('__archiveUrl');
    return { version: reference.slice(4, bind), ...(archiveUrl ? { archiveUrl } : {}) };
  }
  if (reference.startsWith('patch:')) {
    const hash = reference.indexOf('#');
    let inner: string;
    try {
      inner = decodeURIComponent(reference.slice('patch:'.length, hash === -1 ? undefined : hash));
    } catch {
      return undefined;
    }
    const [, innerRef] = splitIdent(inner);
    return registryReference(innerRef);
  }
  return undefined;
}

/** A descriptor range Berry resolves from the registry: `npm:<range>` or a bare semver range. */
function registryRange(range: string): boolean {
  if (range.startsWith('npm:')) return true;
  return !/^[a-z]+:/i.test(range) && semver.validRange(range, { loose: true }) !== null;
}

function berrySource(reference: string): NonRegistry {
  if (/^(file|portal|link):/.test(reference)) return 'file';
  if (/#commit=|^git[+:@]|^github:|^ssh:|\.git(#|$)/.test(reference)) return 'git';
  if (/^https?:/.test(reference)) return 'remote';
  return 'unknown';
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
