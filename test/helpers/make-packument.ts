// Builds realistic public-registry packuments (full documents) for tests and benchmarks, with
// real installable tarballs whose integrity matches, and optional padding to a target size.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import semver from 'semver';
import type { Manifest, Packument } from '../../src/sources/types.js';

export interface VersionSpec {
  version: string;
  publishedAt: Date;
  /** `github:owner/repo`, a git URL, a `{type, url}` object, or null for none. */
  repository?: string | { type?: string; url: string; directory?: string } | null;
  dependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  deprecated?: string;
  gitHead?: string;
  /** Extra manifest fields, merged last. */
  extra?: Record<string, unknown>;
  /** Extra files in the tarball (path inside the package → text); package.json gets `extra` too. */
  files?: Record<string, string>;
}

export interface PackumentSpec {
  name: string;
  versions: VersionSpec[];
  /** Defaults to `{latest: <highest stable version>}`. */
  distTags?: Record<string, string>;
  /** Top-level repository; defaults to the last version's. */
  repository?: VersionSpec['repository'];
  /** Base of the tarball URLs; the fake registry rewrites them to itself when serving. */
  registryUrl?: string;
  /** Pads version descriptions until the JSON document is about this many bytes. */
  targetBytes?: number;
  description?: string;
}

/** A full public-shaped document: `time` has `created`, `modified` and every version. */
export type FullPackument = Packument & { time: Record<string, string>; 'dist-tags': Record<string, string> };

export const PLACEHOLDER_REGISTRY_URL = 'http://127.0.0.1:9/';

export function makePackument(spec: PackumentSpec): FullPackument {
  const registryUrl = spec.registryUrl ?? PLACEHOLDER_REGISTRY_URL;
  const versions: Record<string, Manifest> = {};
  const time: Record<string, string> = {};
  const dates = spec.versions.map((v) => v.publishedAt.getTime());
  if (dates.length > 0) {
    time.created = new Date(Math.min(...dates)).toISOString();
    time.modified = new Date(Math.max(...dates)).toISOString();
  }
  for (const v of spec.versions) {
    const manifest: Manifest = {
      name: spec.name,
      version: v.version,
      description: spec.description ?? `${spec.name} test package`,
      main: 'index.js',
      ...(v.dependencies ? { dependencies: v.dependencies } : {}),
      ...(v.scripts ? { scripts: v.scripts } : {}),
      ...(v.repository ? { repository: normalizeRepository(v.repository) } : {}),
      ...(v.deprecated ? { deprecated: v.deprecated } : {}),
      gitHead: v.gitHead ?? createHash('sha1').update(`${spec.name}@${v.version}`).digest('hex'),
      _npmUser: { name: 'test-publisher', email: 'publisher@example.test' },
      ...v.extra,
    };
    if (v.files) filesOf.set(manifest, v.files);
    const tarball = makeTarball(manifest);
    manifest.dist = {
      tarball: tarballUrl(registryUrl, spec.name, v.version),
      integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
      shasum: createHash('sha1').update(tarball).digest('hex'),
      fileCount: 2,
      unpackedSize: tarballContents(manifest).reduce((n, f) => n + f.content.length, 0),
    };
    versions[v.version] = manifest;
    time[v.version] = v.publishedAt.toISOString();
  }
  const stable = spec.versions.map((v) => v.version).filter((v) => semver.valid(v) && !semver.prerelease(v));
  const latest = stable.sort(semver.compare).at(-1) ?? spec.versions.at(-1)?.version;
  const topRepository = spec.repository !== undefined ? spec.repository : spec.versions.at(-1)?.repository;
  const doc: FullPackument = {
    _id: spec.name,
    name: spec.name,
    description: spec.description ?? `${spec.name} test package`,
    'dist-tags': spec.distTags ?? (latest ? { latest } : {}),
    versions,
    time,
    maintainers: [{ name: 'test-publisher', email: 'publisher@example.test' }],
    ...(topRepository ? { repository: normalizeRepository(topRepository) } : {}),
    readme: `# ${spec.name}\n`,
    readmeFilename: 'README.md',
    license: 'MIT',
  };
  if (spec.targetBytes) padToSize(doc, spec.targetBytes);
  return doc;
}

/** `<registry><name>/-/<unscoped>-<version>.tgz`, the layout every npm registry uses. */
export function tarballUrl(registryUrl: string, name: string, version: string): string {
  return `${registryUrl}${name}/-/${name.replace(/^@[^/]+\//, '')}-${version}.tgz`;
}

function normalizeRepository(repo: NonNullable<VersionSpec['repository']>): { type: string; url: string } {
  if (typeof repo === 'string') {
    const short = /^github:(.+)$/.exec(repo);
    return { type: 'git', url: short ? `git+https://github.com/${short[1]}.git` : repo };
  }
  return { type: repo.type ?? 'git', ...repo } as { type: string; url: string };
}

/** Description padding spread over the versions, so full and mirror shapes keep it and abbreviated drops it. */
function padToSize(doc: FullPackument, targetBytes: number): void {
  const manifests = Object.values(doc.versions);
  const missing = targetBytes - Buffer.byteLength(JSON.stringify(doc));
  if (missing <= 0 || manifests.length === 0) return;
  const perVersion = Math.ceil(missing / manifests.length);
  manifests.forEach((m, i) => {
    m.description = `${m.description ?? ''} ${filler(perVersion, i)}`;
  });
}

// Pseudo-random words compress like real prose (several times, not a thousand times).
const WORDS = [
  'install',
  'module',
  'registry',
  'tarball',
  'semver',
  'version',
  'resolve',
  'config',
  'lockfile',
  'cache',
];
function filler(length: number, seed: number): string {
  let state = (seed + 1) * 2654435761;
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    state = (state * 1103515245 + 12345) >>> 0;
    const word = `${WORDS[state % WORDS.length]}${state % 97}`;
    parts.push(word);
    size += word.length + 1;
  }
  return parts.join(' ').slice(0, length);
}

/** Extra tarball files per manifest (kept off the manifest, which is served as JSON). */
const filesOf = new WeakMap<Manifest, Record<string, string>>();
const INTERFACE_FIELDS = [
  'exports',
  'types',
  'module',
  'bin',
  'engines',
  'peerDependencies',
  'peerDependenciesMeta',
];

function tarballContents(manifest: Manifest): { path: string; content: Buffer }[] {
  const pkg: Record<string, unknown> = {
    name: manifest.name,
    version: manifest.version,
    main: manifest.main ?? 'index.js',
  };
  if (manifest.dependencies) pkg.dependencies = manifest.dependencies;
  if (manifest.scripts) pkg.scripts = manifest.scripts;
  for (const field of INTERFACE_FIELDS) if (manifest[field] !== undefined) pkg[field] = manifest[field];
  const extra = Object.entries(filesOf.get(manifest) ?? {}).map(([file, text]) => ({
    path: `package/${file}`,
    content: Buffer.from(text),
  }));
  const index = {
    path: 'package/index.js',
    content: Buffer.from(`module.exports = ${JSON.stringify(`${manifest.name}@${manifest.version}`)};\n`),
  };
  return [
    ...extra,
    { path: 'package/package.json', content: Buffer.from(`${JSON.stringify(pkg, null, 2)}\n`) },
    ...(extra.some((f) => f.path === index.path) ? [] : [index]),
  ];
}

/** A real, deterministic `.tgz` holding `package/package.json` and `package/index.js`. */
export function makeTarball(manifest: Manifest): Buffer {
  const blocks: Buffer[] = [];
  for (const file of tarballContents(manifest)) {
    blocks.push(tarHeader(file.path, file.content.length));
    blocks.push(file.content, Buffer.alloc((512 - (file.content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function tarHeader(path: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(path, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  h.write(`${(0).toString(8).padStart(11, '0')}\0`, 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}
