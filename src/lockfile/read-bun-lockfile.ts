// bun.lock, bun's text lockfile (JSON with trailing commas), parsed with `jsonc-parser`. Its
// `packages` keys are install paths (`dev-tool/left-pad` is left-pad nested under dev-tool, or
// under the workspace named dev-tool), each an array `[name@version, registry/tarball, info, integrity]`.
// A dependency resolves as Node.js resolves it: the nearest path up from the dependent.
import { getNodeValue, type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import {
  buildInventory,
  type GraphEdge,
  type GraphNode,
  lineIndex,
  SKIP_REASONS,
} from './build-inventory.js';
import type { LockfileInventory } from './lockfile-inventory.js';
import {
  dependencyMap,
  type FormatInput,
  IMPORTER_FIELDS,
  isRecord,
  location,
  lockfileError,
  readManifest,
  splitIdent,
} from './project-files.js';

const SUPPORTED_VERSIONS = new Set([0, 1, 2]);

export async function readBunLockfile(input: FormatInput): Promise<LockfileInventory> {
  if (input.text.charCodeAt(0) === 0 || /\0/.test(input.text.slice(0, 64))) {
    throw lockfileError(
      input.display,
      'binary lockfile: run `bun install --save-text-lockfile` to write bun.lock',
    );
  }
  const errors: ParseError[] = [];
  const tree = parseTree(input.text, errors, { allowTrailingComma: true, disallowComments: false });
  const lineOf = lineIndex(input.text);
  const error = errors[0];
  if (error || tree === undefined || tree.type !== 'object') {
    const where = error ? ` at line ${lineOf(error.offset)}: ${printParseErrorCode(error.error)}` : '';
    throw lockfileError(input.display, `not a readable bun.lock${where}`);
  }
  const property = (node: Node, key: string): Node | undefined =>
    node.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];

  const version = property(tree, 'lockfileVersion')?.value;
  if (typeof version !== 'number' || !SUPPORTED_VERSIONS.has(version)) {
    throw lockfileError(
      input.display,
      `lockfileVersion ${String(version ?? '(missing)')} is not supported (0 to 2 are); run bun install with this bun`,
    );
  }
  const warnings: string[] = [];
  const manifest = await readManifest(input.files, 'package.json', warnings);
  const workspacesNode = property(tree, 'workspaces');
  const workspaces: unknown = workspacesNode ? getNodeValue(workspacesNode) : {};
  const rootWorkspace = isRecord(workspaces) && isRecord(workspaces['']) ? workspaces[''] : {};
  const root = nonEmpty(manifest?.name) ?? nonEmpty(rootWorkspace.name) ?? input.fallbackRoot;

  const nodes = new Map<string, GraphNode>();
  const packagesNode = property(tree, 'packages');
  const infos = new Map<string, Record<string, unknown>>();
  for (const prop of packagesNode?.type === 'object' ? (packagesNode.children ?? []) : []) {
    const [keyNode, valueNode] = prop.children ?? [];
    if (typeof keyNode?.value !== 'string' || valueNode === undefined) continue;
    const key = keyNode.value;
    const value: unknown = getNodeValue(valueNode);
    if (!Array.isArray(value) || typeof value[0] !== 'string') {
      warnings.push(`packages["${key}"]: not a bun package entry; ignored`);
      continue;
    }
    const node = packageNode(key, value, location(input.display, lineOf(keyNode.offset), key));
    nodes.set(key, node);
    const info = value.find((v, i) => i > 0 && isRecord(v));
    infos.set(key, isRecord(info) ? info : {});
  }

  const rootId = 'importer:.';
  nodes.set(rootId, { id: rootId, name: root, importer: true, edges: [] });
  const importers: [GraphNode, string, Record<string, unknown>][] = [[nodes.get(rootId)!, '', rootWorkspace]];
  for (const [dir, ws] of Object.entries(isRecord(workspaces) ? workspaces : {})) {
    if (dir === '' || !isRecord(ws)) continue;
    const name = nonEmpty(ws.name) ?? dir;
    // The workspace's own `packages` entry (`name@workspace:dir`) becomes its importer.
    const own = nodes.get(name);
    const node: GraphNode =
      own?.skip?.spec === 'workspace' ? own : { id: `importer:${dir}`, name, edges: [] };
    node.importer = true;
    node.skip = { spec: 'workspace', reason: `workspace ${dir}: local source, not from a registry` };
    nodes.set(node.id, node);
    importers.push([node, name, ws]);
  }

  const missing: string[] = [];
  const link = (from: GraphNode, prefix: string, name: string, flags: Omit<GraphEdge, 'to'>) => {
    const target = resolve(nodes, prefix, name);
    if (target === undefined) {
      if (!flags.optional && !flags.peer) missing.push(`${prefix || '(root)'} > ${name}`);
      return;
    }
    from.edges.push({ to: target.id, ...flags });
  };
  for (const [node, prefix, ws] of importers) {
    for (const [field, flags] of IMPORTER_FIELDS) {
      for (const name of dependencyMap(ws[field]).keys()) link(node, prefix, name, flags);
    }
  }
  for (const [key, info] of infos) {
    const node = nodes.get(key)!;
    if (node.importer) continue;
    for (const name of dependencyMap(info.dependencies).keys()) link(node, key, name, {});
    for (const name of dependencyMap(info.optionalDependencies).keys())
      link(node, key, name, { optional: true });
    const optionalPeers = new Set(Array.isArray(info.optionalPeers) ? info.optionalPeers : []);
    for (const name of dependencyMap(info.peerDependencies).keys()) {
      link(node, key, name, { peer: true, ...(optionalPeers.has(name) ? { optional: true } : {}) });
    }
  }
  if (missing.length > 0) {
    warnings.push(
      `${missing.length} dependencies have no entry in the lockfile (stale? run bun install) e.g. ${missing.slice(0, 3).join(', ')}`,
    );
  }
  return buildInventory({ file: input.file, lockfileVersion: version, root, rootId, nodes, warnings });
}

/** `@a/b/c/d` → [`@a/b`, `c`, `d`]: path segments, scoped names kept whole. */
function segments(key: string): string[] {
  const parts = key.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith('@') && i + 1 < parts.length) out.push(`${part}/${parts[++i]}`);
    else out.push(part);
  }
  return out;
}

/** The entry `name` resolves to from the package at `fromKey`: `a/b/name`, then `a/name`, then `name`. */
function resolve(nodes: Map<string, GraphNode>, fromKey: string, name: string): GraphNode | undefined {
  const parts = fromKey === '' ? [] : segments(fromKey);
  for (let n = parts.length; n >= 0; n--) {
    const key = [...parts.slice(0, n), name].join('/');
    const found = nodes.get(key);
    if (found) return found;
  }
  return undefined;
}

function packageNode(key: string, value: unknown[], where: ReturnType<typeof location>): GraphNode {
  const ident = value[0] as string;
  const [name, reference] = splitIdent(ident);
  const installedAs = segments(key).at(-1) ?? name;
  const node: GraphNode = { id: key, name, location: where, edges: [] };
  if (installedAs !== name) node.alias = installedAs;
  if (reference.startsWith('workspace:')) {
    node.skip = {
      spec: 'workspace',
      reason: `workspace ${reference.slice(10)}: local source, not from a registry`,
    };
    return node;
  }
  // A registry entry: [ident, registry tarball ("" for the default registry), info, integrity].
  if (/^\d/.test(reference) && !reference.includes(':') && typeof value[1] === 'string') {
    // Fetched from that URL wherever it points: a registry entry, whose host the lockfile-source
    // rule judges. A URL dependency's ident carries the URL instead of a version.
    const tarball = value[1];
    node.version = reference;
    if (tarball !== '') node.resolved = tarball;
    if (typeof value[3] === 'string') node.integrity = value[3];
    return node;
  }
  if (/^(file|link|root):/.test(reference)) {
    node.skip = { spec: reference, reason: SKIP_REASONS.file };
  } else if (/^(git|github|gitlab|bitbucket)[+:]|^ssh:|#/.test(reference)) {
    node.skip = { spec: reference, reason: SKIP_REASONS.git };
  } else if (/^https?:/.test(reference)) {
    node.skip = { spec: reference, reason: SKIP_REASONS.remote };
  } else {
    node.skip = { spec: reference || ident, reason: SKIP_REASONS.unknown };
  }
  return node;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
