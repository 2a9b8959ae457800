// A loopback npm registry that behaves like either upstream lockwarden meets
// (see shared REGISTRY-NOTES.md):
// - `public`: abbreviated documents on the install Accept header, ETag + 304, gzip on request;
// - `mirror`: always the full document, reshaped (version-only `time` in `+00:00` form, lean
//   `dist`, `latest` only), no ETag, no gzip.
// Serves packuments, per-version documents and tarballs, with scoped names in all three spellings.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import semver from 'semver';
import type { Manifest, Packument } from '../../src/sources/types.js';
import { type FakeServer, sendJson, startFakeServer } from './fake-upstream.js';
import { type FullPackument, makeTarball, tarballUrl } from './make-packument.js';

export type RegistryShape = 'public' | 'mirror';

export interface FakeRegistryOptions {
  shape?: RegistryShape;
  packuments?: FullPackument[];
  /** Tarball bytes by `<name>@<version>`, overriding the generated ones. */
  tarballs?: Record<string, Buffer>;
  /** Keep `dist.tarball` as built instead of pointing it at this server. */
  keepTarballUrls?: boolean;
  /**
   * Serves the bulk advisory endpoint (`POST /-/npm/v1/security/advisories/bulk`) with these;
   * without it the endpoint is a 404, as on the registry mirror.
   */
  advisories?: FakeAdvisory[];
}

/** One advisory as the registry's bulk endpoint lists it, with the package it concerns. */
export interface FakeAdvisory {
  name: string;
  id: number;
  ghsa: string;
  severity: 'info' | 'low' | 'moderate' | 'high' | 'critical';
  title: string;
  vulnerable_versions: string;
  cvss?: { score: number; vectorString: string };
}

export interface FakeRegistry extends FakeServer {
  shape: RegistryShape;
  addPackument(doc: FullPackument): void;
  removePackument(name: string): void;
  /**
   * Serializes and compresses every document ahead of time, as a CDN in front of a registry has
   * them: benchmarks then spend the shared cores on the client, not on the fake.
   */
  precompute(): void;
  /** Replaces the advisories the bulk endpoint serves. */
  setAdvisories(advisories: FakeAdvisory[]): void;
  /** The document exactly as it would be served (after reshaping), for assertions. */
  served(name: string, opts?: { abbreviated?: boolean }): Packument | undefined;
}

const ABBREVIATED_TYPE = 'application/vnd.npm.install-v1+json';
const ABBREVIATED_FIELDS = [
  'name',
  'version',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bundleDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  'cpu',
  'os',
  'deprecated',
  '_hasShrinkwrap',
];

export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const docs = new Map<string, FullPackument>();
  for (const doc of options.packuments ?? []) docs.set(doc.name, doc);
  let base = '';

  // Shaped documents are memoized: benchmarks ask for multi-MB documents many times.
  const memo = new Map<string, { doc: Packument; body: Buffer }>();
  const manifestMemo = new Map<string, Buffer>();
  const tarballMemo = new Map<string, Buffer>();
  const gzipped = new WeakMap<Buffer, Buffer>();
  const shaped = (doc: FullPackument, abbreviated: boolean) => {
    const key = `${doc.name}\0${fake.shape}\0${abbreviated}`;
    let hit = memo.get(key);
    if (!hit) {
      const value = shapeDoc(doc, abbreviated);
      hit = { doc: value, body: Buffer.from(JSON.stringify(value)) };
      memo.set(key, hit);
    }
    return hit;
  };

  const manifestBody = (doc: FullPackument, version: string): Buffer | undefined => {
    const key = `${doc.name}\0${fake.shape}\0${version}`;
    let body = manifestMemo.get(key);
    if (!body) {
      const served = shaped(doc, false).doc;
      if (!Object.hasOwn(served.versions, version)) return undefined;
      body = Buffer.from(JSON.stringify(served.versions[version]));
      manifestMemo.set(key, body);
    }
    return body;
  };
  const gzipOf = (body: Buffer): Buffer => {
    let gz = gzipped.get(body);
    if (!gz) {
      // Level 1: tests want speed, and clients must cope with any level anyway.
      gz = gzipSync(body, { level: 1 });
      gzipped.set(body, gz);
    }
    return gz;
  };

  const shapeDoc = (doc: FullPackument, abbreviated: boolean): Packument => {
    const copy = JSON.parse(JSON.stringify(doc)) as FullPackument;
    if (!options.keepTarballUrls) {
      for (const m of Object.values(copy.versions)) {
        if (m.dist && m.version) m.dist.tarball = tarballUrl(base, copy.name, m.version);
      }
    }
    if (fake.shape === 'mirror') return toMirrorShape(copy);
    if (abbreviated) return toAbbreviated(copy);
    return copy;
  };

  let advisories = options.advisories;
  const server = await startFakeServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/-/npm/v1/security/advisories/bulk') {
      if (!advisories) return sendJson(res, 404, { error: 'Not found' });
      return sendBulkAdvisories(req, res, advisories);
    }
    const route = parseRoute(req.url ?? '/');
    if (!route) return sendJson(res, 400, { error: 'bad request path' });
    const doc = docs.get(route.name);
    if (!doc) return sendJson(res, 404, { error: 'Not found' });
    if (route.rest.length === 0) {
      const abbreviated = fake.shape === 'public' && (req.headers.accept ?? '').includes(ABBREVIATED_TYPE);
      const { body } = shaped(doc, abbreviated);
      return sendDocument(req, res, body, abbreviated ? ABBREVIATED_TYPE : 'application/json');
    }
    if (route.rest.length === 1) {
      const wanted = route.rest[0]!;
      const version = doc['dist-tags'][wanted] ?? wanted;
      const body = manifestBody(doc, version);
      if (!body) return sendJson(res, 404, { error: `version not found: ${wanted}` });
      return sendDocument(req, res, body, 'application/json');
    }
    if (route.rest.length === 2 && route.rest[0] === '-') {
      const file = route.rest[1]!;
      const unscoped = doc.name.replace(/^@[^/]+\//, '');
      const version = Object.keys(doc.versions).find((v) => file === `${unscoped}-${v}.tgz`);
      if (!version) return sendJson(res, 404, { error: 'tarball not found' });
      const id = `${doc.name}@${version}`;
      let bytes = options.tarballs?.[id] ?? tarballMemo.get(id);
      if (!bytes) {
        bytes = makeTarball(doc.versions[version] as Manifest);
        tarballMemo.set(id, bytes);
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
      });
      res.end(bytes);
      return;
    }
    return sendJson(res, 404, { error: 'Not found' });
  });
  base = server.url;

  const sendDocument = (req: IncomingMessage, res: ServerResponse, body: Buffer, contentType: string) => {
    if (fake.shape === 'mirror') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    const etag = `"${createHash('sha1').update(contentType).update(body).digest('hex')}"`;
    const ifNoneMatch = (req.headers['if-none-match'] ?? '').split(',').map((s) => s.trim());
    const headers: Record<string, string> = {
      etag,
      vary: 'accept, accept-encoding',
      'content-type': contentType,
    };
    if (ifNoneMatch.includes(etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      const gz = gzipOf(body);
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(gz.length) });
      res.end(gz);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  };

  const fake: FakeRegistry = {
    ...server,
    shape: options.shape ?? 'public',
    addPackument: (doc) => {
      docs.set(doc.name, doc);
      memo.clear();
      manifestMemo.clear();
      tarballMemo.clear();
    },
    removePackument: (name) => {
      docs.delete(name);
      memo.clear();
      manifestMemo.clear();
      tarballMemo.clear();
    },
    precompute: () => {
      for (const doc of docs.values()) {
        gzipOf(shaped(doc, false).body);
        if (fake.shape === 'public') gzipOf(shaped(doc, true).body);
        for (const version of Object.keys(doc.versions)) gzipOf(manifestBody(doc, version)!);
      }
    },
    setAdvisories: (list) => {
      advisories = list;
    },
    served: (name, opts) => {
      const doc = docs.get(name);
      return doc && shaped(doc, opts?.abbreviated === true && fake.shape === 'public').doc;
    },
  };
  return fake;
}

/**
 * `/lodash`, `/@scope%2fname`, `/@scope%2Fname`, `/@scope/name`, each optionally followed by
 * `/<version>` or `/-/<file>.tgz`.
 */
export function parseRoute(rawUrl: string): { name: string; rest: string[] } | undefined {
  const path = rawUrl.split('?')[0] ?? '';
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const first = segments[0];
  if (!first) return undefined;
  if (first.startsWith('@') && !first.includes('/')) {
    if (!segments[1]) return undefined;
    return { name: `${first}/${segments[1]}`, rest: segments.slice(2) };
  }
  return { name: first, rest: segments.slice(1) };
}

export function toAbbreviated(doc: FullPackument): Packument {
  const versions: Record<string, Manifest> = {};
  for (const [v, m] of Object.entries(doc.versions)) {
    const lean: Manifest = {};
    for (const field of ABBREVIATED_FIELDS) if (m[field] !== undefined) lean[field] = m[field];
    const scripts = m.scripts as Record<string, string> | undefined;
    if (scripts && (scripts.install || scripts.preinstall || scripts.postinstall))
      lean.hasInstallScript = true;
    versions[v] = lean;
  }
  return {
    name: doc.name,
    'dist-tags': doc['dist-tags'],
    versions,
    ...(doc.time.modified ? { modified: doc.time.modified } : {}),
  };
}

export function toMirrorShape(doc: FullPackument): Packument {
  const versions: Record<string, Manifest> = {};
  for (const [v, m] of Object.entries(doc.versions)) {
    const { _npmUser, deprecated, gitHead, dist, ...rest } = m;
    versions[v] = {
      ...rest,
      ...(dist ? { dist: { integrity: dist.integrity, shasum: dist.shasum, tarball: dist.tarball } } : {}),
    };
  }
  const time: Record<string, string> = {};
  for (const v of Object.keys(doc.versions)) {
    const t = doc.time[v];
    if (t) time[v] = toMirrorTimestamp(t);
  }
  const latest = doc['dist-tags'].latest;
  return {
    _id: doc.name,
    name: doc.name,
    'dist-tags': latest ? { latest } : {},
    versions,
    time,
  };
}

/** `2024-12-04T23:03:58.786Z` → `2024-12-04T23:03:58.786000+00:00`, the mirror's form. */
export function toMirrorTimestamp(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** The bulk endpoint: the advisories that concern any of the versions asked for, per name. */
async function sendBulkAdvisories(
  req: IncomingMessage,
  res: ServerResponse,
  advisories: readonly FakeAdvisory[],
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let asked: Record<string, string[]>;
  try {
    asked = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: 'invalid JSON' });
  }
  const out: Record<string, unknown[]> = {};
  for (const [name, versions] of Object.entries(asked)) {
    const hits = advisories
      .filter((a) => a.name === name && versions.some((v) => semver.satisfies(v, a.vulnerable_versions)))
      .map(({ name: _name, ghsa, ...a }) => ({
        ...a,
        url: `https://github.com/advisories/${ghsa}`,
        cwe: [],
      }));
    if (hits.length > 0) out[name] = hits;
  }
  sendJson(res, 200, out);
}
