// pnpm-lock.yaml, lockfileVersion 6.0 (pnpm 8) and 9.0 (pnpm 9 and 10), parsed with js-yaml.
// v9 keeps one `packages` entry per name@version (where annotations point) and one `snapshots`
// entry per peer/patch variant (which carries the dependencies); v6 has one `packages` entry per
// variant, keyed `/name@version(peers)`. Importers are the root and every workspace.
import path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import {
  buildInventory,
  type GraphNode,
  type PackageGraph,
  SKIP_REASONS,
  type Source,
} from './build-inventory.js';
import type { LockfileInventory } from './lockfile-inventory.js';
import {
  type FormatInput,
  IMPORTER_FIELDS,
  isRecord,
  location,
  lockfileError,
  readManifest,
  refuseYamlAliases,
  splitLastAt,
} from './project-files.js';

const SUPPORTED = new Set(['6.0', '6.1', '9.0']);

/**
 * The line of every key of the top-level `packages` and `importers` maps: where an entry begins.
 * pnpm writes them two spaces in, plain or single-quoted (`'@scope/name@1.0.0':`).
 */
function sectionKeyLines(text: string): { packages: Map<string, number>; importers: Map<string, number> } {
  const out = { packages: new Map<string, number>(), importers: new Map<string, number>() };
  let section: Map<string, number> | undefined;
  let line = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw[0] !== ' ') {
      section = raw === 'packages:' ? out.packages : raw === 'importers:' ? out.importers : undefined;
      continue;
    }
    if (section === undefined || raw[2] === ' ' || !raw.startsWith('  ')) continue;
    const key = keyOf(raw.slice(2));
    if (key !== undefined && !section.has(key)) section.set(key, line);
  }
  return out;
}

function keyOf(text: string): string | undefined {
  if (text.startsWith("'")) {
    let i = 1;
    let key = '';
    while (i < text.length) {
      if (text[i] === "'" && text[i + 1] === "'") {
        key += "'";
        i += 2;
      } else if (text[i] === "'") {
        return key;
      } else {
        key += text[i++];
      }
    }
    return undefined;
  }
  if (text.startsWith('"')) {
    const match = /^"((?:[^"\\]|\\.)*)"/.exec(text);
    try {
      return match ? (JSON.parse(`"${match[1]}"`) as string) : undefined;
    } catch {
      return undefined;
    }
  }
  const colon = text.endsWith(':') ? text.length - 1 : text.indexOf(': ');
  return colon === -1 ? undefined : text.slice(0, colon);
}

/**
 * Parsed with js-yaml: on a 2,000-package lockfile it takes a twentieth of the time of `yaml`'s
 * document parser (npm run bench:lockfiles), whose positions only served to find key lines.
 */
function parsePnpmYaml(input: FormatInput): unknown {
  refuseYamlAliases(input);
  try {
    return loadYaml(input.text, { filename: input.display });
  } catch (err) {
    const mark = (err as { mark?: { line?: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? (err as Error).message.split('\n')[0];
    throw lockfileError(
      input.display,
      `invalid YAML${mark?.line === undefined ? '' : ` at line ${mark.line + 1}`}: ${reason}`,
      err,
    );
  }
}

export async function readPnpmLockfile(input: FormatInput): Promise<LockfileInventory> {
  const data = parsePnpmYaml(input);
  if (!isRecord(data)) throw lockfileError(input.display, 'not a pnpm lockfile (no top-level map)');
  const version = String(data.lockfileVersion ?? '');
  if (!SUPPORTED.has(version)) {
    throw lockfileError(
      input.display,
      `lockfileVersion ${version || '(missing)'} is not supported (6.0 and 9.0 are: pnpm 8, 9 and 10); run pnpm install with a newer pnpm`,
    );
  }
  const v9 = version.startsWith('9');
  const { packages: lines, importers: importerLines } = sectionKeyLines(input.text);

  const warnings: string[] = [];
  const manifest = await readManifest(input.files, 'package.json', warnings);
  const root = nonEmpty(manifest?.name) ?? input.fallbackRoot;
  const packages = isRecord(data.packages) ? data.packages : {};
  const snapshots = v9 && isRecord(data.snapshots) ? data.snapshots : {};
  const importers: Record<string, unknown> = isRecord(data.importers)
    ? data.importers
    : // A single-project v6 lockfile keeps the root's dependencies at the top level.
      { '.': data };

  const nodes = new Map<string, GraphNode>();
  const missing: string[] = [];
  const importerId = (dir: string) => `importer:${dir}`;
  for (const dir of Object.keys(importers)) {
    const normalized = path.posix.normalize(dir);
    const own =
      normalized === '.' ? manifest : await readManifest(input.files, `${normalized}/package.json`, warnings);
    nodes.set(importerId(normalized), {
      id: importerId(normalized),
      name: nonEmpty(own?.name) ?? (normalized === '.' ? root : normalized),
      importer: true,
      location: location(input.display, importerLines.get(dir) ?? 1, `importers/${dir}`),
      ...(normalized === '.'
        ? {}
        : {
            skip: { spec: 'workspace', reason: `workspace ${normalized}: local source, not from a registry` },
          }),
      edges: [],
    });
  }

  /** The node a dependency reference leads to, created on first use. */
  const resolveRef = (depName: string, ref: string, fromDir: string): string | undefined => {
    if (ref.startsWith('link:')) {
      const target = path.posix.normalize(path.posix.join(fromDir, ref.slice('link:'.length)));
      if (nodes.has(importerId(target))) return importerId(target);
      const id = `link:${target}`;
      if (!nodes.has(id)) {
        nodes.set(id, {
          id,
          name: depName,
          skip: {
            spec: `link:${target}`,
            reason: `linked folder ${target}: local source, not from a registry`,
          },
          edges: [],
        });
      }
      return id;
    }
    const depPath = v9 ? refToDepPathV9(depName, ref) : refToDepPathV6(depName, ref);
    if (!nodes.has(depPath)) addPackage(depPath);
    const node = nodes.get(depPath);
    if (node && node.name !== depName && node.alias === undefined && !node.skip) node.alias = depName;
    return node ? depPath : undefined;
  };

  const addPackage = (depPath: string): void => {
    // v9: the snapshot holds dependencies, the package entry (peer/patch suffix dropped) the rest.
    const packageKey = v9 ? stripSuffix(depPath) : depPath;
    const pkg = packages[packageKey];
    const snapshot = v9 ? snapshots[depPath] : pkg;
    if (!isRecord(pkg) && !isRecord(snapshot)) {
      missing.push(depPath);
      return;
    }
    const info = isRecord(pkg) ? pkg : {};
    const bare = stripSuffix(v9 ? packageKey : packageKey.replace(/^\//, ''));
    const [keyName, keyVersion] = splitLastAt(bare);
    const name = typeof info.name === 'string' ? info.name : keyName;
    const version = typeof info.version === 'string' ? info.version : keyVersion;
    const line = lines.get(packageKey) ?? 1;
    const node: GraphNode = {
      id: depPath,
      name,
      location: location(input.display, line, packageKey),
      edges: [],
    };
    const resolution = isRecord(info.resolution) ? info.resolution : {};
    const source = sourceOf(name, version, keyVersion, resolution);
    if (source.kind === 'registry') {
      node.version = version;
      if (typeof resolution.tarball === 'string') node.resolved = resolution.tarball;
      if (typeof resolution.integrity === 'string') node.integrity = resolution.integrity;
    } else {
      node.skip = { spec: source.spec, reason: SKIP_REASONS[source.kind] };
    }
    nodes.set(depPath, node);
    const holder = isRecord(snapshot) ? snapshot : info;
    for (const [field, flags] of [
      ['dependencies', {}],
      ['optionalDependencies', { optional: true }],
    ] as const) {
      const deps = holder[field];
      if (!isRecord(deps)) continue;
      for (const [dep, ref] of Object.entries(deps)) {
        if (typeof ref !== 'string') continue;
        const to = resolveRef(dep, ref, '.');
        if (to !== undefined) node.edges.push({ to, ...flags });
      }
    }
  };

  for (const [dir, importer] of Object.entries(importers)) {
    if (!isRecord(importer)) continue;
    const normalized = path.posix.normalize(dir);
    const from = nodes.get(importerId(normalized))!;
    for (const [field, flags] of IMPORTER_FIELDS) {
      const deps = importer[field];
      if (!isRecord(deps)) continue;
      for (const [dep, value] of Object.entries(deps)) {
        const ref = isRecord(value) ? value.version : value;
        if (typeof ref !== 'string') continue;
        const to = resolveRef(dep, ref, normalized);
        if (to !== undefined) from.edges.push({ to, ...flags });
      }
    }
  }
  // Entries no importer reaches still get checked (stale lockfiles), and reported as such.
  for (const key of Object.keys(v9 ? snapshots : packages)) {
    if (!nodes.has(key)) addPackage(key);
  }
  if (v9) {
    const located = new Set([...nodes.values()].map((n) => n.location?.key));
    for (const key of Object.keys(packages)) {
      if (!located.has(key)) addPackage(key);
    }
  }
  if (missing.length > 0) {
    warnings.push(
      `${missing.length} dependencies have no entry in the lockfile (stale or hand-edited?) e.g. ${missing.slice(0, 3).join(', ')}`,
    );
  }
  const graph: PackageGraph = {
    file: input.file,
    lockfileVersion: Number(version),
    root,
    rootId: importerId('.'),
    nodes,
    warnings,
  };
  if (!nodes.has(graph.rootId)) {
    nodes.set(graph.rootId, { id: graph.rootId, name: root, importer: true, edges: [] });
  }
  return buildInventory(graph);
}

function sourceOf(
  name: string,
  version: string,
  keyVersion: string,
  resolution: Record<string, unknown>,
): Source {
  if (resolution.type === 'git' && typeof resolution.repo === 'string') {
    return { kind: 'git', spec: `git+${resolution.repo}#${String(resolution.commit ?? '')}` };
  }
  if (resolution.type === 'directory' && typeof resolution.directory === 'string') {
    return { kind: 'file', spec: `file:${resolution.directory}` };
  }
  const tarball = typeof resolution.tarball === 'string' ? resolution.tarball : undefined;
  if (tarball?.startsWith('file:')) return { kind: 'file', spec: tarball };
  // A registry package's key is name@version; a tarball URL or git host takes the version's place.
  const registryKey = /^\d/.test(keyVersion) && !keyVersion.includes(':') && !keyVersion.includes('/');
  if (tarball !== undefined) {
    // A registry key is fetched from its tarball URL wherever that points: a registry entry, whose
    // host the lockfile-source rule judges. A URL dependency's key carries the URL instead.
    if (registryKey && version) return { kind: 'registry' };
    return {
      kind: /codeload|\.git\b|github|gitlab|bitbucket/.test(tarball) ? 'git' : 'remote',
      spec: tarball,
    };
  }
  if (registryKey && version) return { kind: 'registry' };
  if (keyVersion.startsWith('file:')) return { kind: 'file', spec: keyVersion };
  return { kind: 'unknown', spec: keyVersion || name };
}

/** `(peer@1.0.0)(patch_hash=...)` suffixes name variants of one package. */
function stripSuffix(depPath: string): string {
  const paren = depPath.indexOf('(');
  return paren === -1 ? depPath : depPath.slice(0, paren);
}

/** pnpm 9's dependency reference → snapshot key: `1.0.0` → `name@1.0.0`; an alias is already one. */
function refToDepPathV9(name: string, ref: string): string {
  if (ref.startsWith('@')) return ref;
  const at = ref.indexOf('@');
  if (at === -1) return `${name}@${ref}`;
  const colon = ref.indexOf(':');
  const paren = ref.indexOf('(');
  if ((colon === -1 || at < colon) && (paren === -1 || at < paren)) return ref;
  return `${name}@${ref}`;
}

/** pnpm 8's reference → packages key: `1.0.0` → `/name@1.0.0`; `/real@1.0.0` (alias) as is. */
function refToDepPathV6(name: string, ref: string): string {
  if (ref.startsWith('/') || ref.startsWith('file:')) return ref;
  const paren = ref.indexOf('(');
  const head = paren === -1 ? ref : ref.slice(0, paren);
  if (!head.includes('/')) return `/${name}@${ref}`;
  return ref;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
