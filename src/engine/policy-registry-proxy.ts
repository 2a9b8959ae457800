// A loopback-only npm registry for one `lockwarden update` run with pnpm, yarn or bun: the
// package manager resolves against it and sees only the versions the policy allows. Each
// packument is the policy packument cache's decision (the same evaluatePackument and
// filterPackument as `lockwarden serve`, and as npm's update through Arborist), tarballs come
// through the registry source (its credentials, size limit and integrity check) and only for
// allowed versions. Tarball URLs point here, so what a lockfile records is mapped back to the
// upstream URLs with `toUpstream` before anything is written. Each upstream registry (the default
// and each scope's own) has its own URL here, so a lockfile that records registries keeps them apart.
// It fetches with the user's registry credentials, so it answers only under a random path in the
// URL it hands the package manager: any other local process (another user of the machine, a
// page in a browser) that finds the port gets a 404, not the user's private packages.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainInvalidPackageName } from '../sources/package-name.js';
import { scopeOf } from '../sources/registry-routes.js';
import type { Manifest, Packument, Sources } from '../sources/types.js';
import { PackumentUnavailableError, type PolicyPackumentCache } from './policy-packument-cache.js';

export interface PolicyRegistryProxy {
  /** `http://127.0.0.1:<port>/<random>/`: the default registry. */
  url: string;
  /** `@scope` → the URL standing for that scope's registry (its own random path). */
  scopeUrls: Map<string, string>;
  /** `text` with every URL of this proxy replaced by the upstream URL it stands for. */
  toUpstream(text: string): string;
  /** Requests the proxy could not answer from upstream (facts or tarballs unavailable). */
  failures(): string[];
  close(): Promise<void>;
}

/** Larger than any package a registry accepts; a tarball past this is refused, never buffered whole. */
const MAX_TARBALL_BYTES = 512 * 1024 * 1024;

export async function startPolicyRegistryProxy(opts: {
  cache: PolicyPackumentCache;
  sources: Sources;
  maxTarballBytes?: number;
  /**
   * Serve each allowed version's publish time (from the full document when the decision was made
   * on the abbreviated one): Yarn 4 quarantines versions whose age it cannot see (npmMinimalAgeGate).
   */
  withTimes?: boolean;
  /**
   * The upstream registry of each scope with its own (`sources.registry` fetches those packages
   * there): each gets its own URL here, so the lockfile the tool writes says which registry a
   * package is from, and `toUpstream` turns it back into that registry's URL.
   */
  upstreams: { default: string; scopes: ReadonlyMap<string, string> };
}): Promise<PolicyRegistryProxy> {
  /** Proxy tarball path → the upstream tarball of that allowed version. */
  const tarballs = new Map<string, { name: string; version: string; upstream: string; integrity?: string }>();
  const failures: string[] = [];
  // One random path per upstream registry: `null` stands for the default one.
  const prefixes = new Map<string, string | null>([[`/${randomBytes(16).toString('hex')}`, null]]);
  for (const scope of opts.upstreams.scopes.keys())
    prefixes.set(`/${randomBytes(16).toString('hex')}`, scope);
  const prefixOf = new Map([...prefixes].map(([prefix, scope]) => [scope, prefix]));
  let origin = '';
  /** The registry a package belongs to: its scope's when that has one, else the default. */
  const registryOf = (name: string): string | null => {
    const scope = scopeOf(name);
    return scope !== undefined && opts.upstreams.scopes.has(scope) ? scope : null;
  };
  const baseOf = (scope: string | null) => `${origin}${prefixOf.get(scope)}/`;

  const tarballPath = (name: string, version: string) =>
    `${name}/-/${name.replace(/^@[^/]+\//, '')}-${version}.tgz`;

  /** The decision's document with each allowed version's tarball pointing here. */
  const served = (doc: Packument): Packument => {
    const versions: Record<string, Manifest> = {};
    for (const [version, manifest] of Object.entries(doc.versions)) {
      const upstream = manifest.dist?.tarball;
      if (typeof upstream !== 'string') {
        versions[version] = manifest;
        continue;
      }
      const local = tarballPath(doc.name, version);
      const integrity = manifest.dist?.integrity;
      tarballs.set(local, {
        name: doc.name,
        version,
        upstream,
        ...(typeof integrity === 'string' ? { integrity } : {}),
      });
      versions[version] = {
        ...manifest,
        dist: { ...manifest.dist, tarball: `${baseOf(registryOf(doc.name))}${local}` },
      };
    }
    return { ...doc, versions };
  };

  const withTimes = async (doc: Packument): Promise<Packument> => {
    if (doc.time && Object.keys(doc.versions).every((v) => doc.time?.[v] !== undefined)) return doc;
    const full = await opts.sources.registry.getPackument(doc.name, { full: true });
    if (full.status !== 'ok' || !full.packument.time) return doc;
    const time: Record<string, string> = {};
    for (const [key, value] of Object.entries(full.packument.time)) {
      if (key === 'created' || key === 'modified' || Object.hasOwn(doc.versions, key))
        time[key] = value as string;
    }
    return { ...doc, time };
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'read-only registry' });
    const url = req.url ?? '/';
    const slash = url.indexOf('/', 1);
    const prefix = slash > 0 ? url.slice(0, slash) : url;
    if (!prefixes.has(prefix)) return send(res, 404, { error: 'not found' });
    const route = parseRoute(url.slice(prefix.length));
    // A package is only served at the URL of its own registry, as that registry would.
    if (!route || registryOf(route.name) !== prefixes.get(prefix))
      return send(res, 404, { error: 'not found' });
    // A tarball asked for before its packument (a client trusting its lockfile): decide the name
    // first, which maps its allowed versions' tarballs; a hidden version's stays unknown (404).
    if (route.rest[0] === '-' && !tarballs.has(route.path)) {
      await opts.cache.decide(route.name).then(
        (d) => served(d.filtered),
        () => {},
      );
    }
    const local = tarballs.get(route.path);
    if (local) {
      const got = await opts.sources.registry.getTarball?.(local.name, local.version, {
        tarballUrl: local.upstream,
        ...(local.integrity ? { integrity: local.integrity } : {}),
        maxBytes: opts.maxTarballBytes ?? MAX_TARBALL_BYTES,
      });
      if (got?.status !== 'ok') {
        const why = got ? (got.status === 'not-found' ? 'not found' : got.reason) : 'no tarball source';
        failures.push(`the tarball of ${local.name}@${local.version}: ${why}`);
        return send(res, got?.status === 'not-found' ? 404 : 502, { error: why });
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': got.bytes.length });
      res.end(req.method === 'HEAD' ? undefined : got.bytes);
      return;
    }
    if (route.rest.length > 1) return send(res, 404, { error: 'not found' });
    let doc: Packument;
    try {
      doc = (await opts.cache.decide(route.name)).filtered;
    } catch (err) {
      if (err instanceof PackumentUnavailableError && err.notFound)
        return send(res, 404, { error: 'not found' });
      failures.push(`the packument of ${route.name}: ${(err as Error).message}`);
      return send(res, 503, { error: 'unavailable' });
    }
    const document = served(opts.withTimes ? await withTimes(doc) : doc);
    if (route.rest.length === 0) return send(res, 200, document);
    // `/<name>/<version or dist-tag>`: the per-version document some clients ask for.
    const wanted = route.rest[0]!;
    const version = document['dist-tags']?.[wanted] ?? wanted;
    const manifest = Object.hasOwn(document.versions, version) ? document.versions[version] : undefined;
    if (!manifest) return send(res, 404, { error: `no allowed version ${wanted}` });
    return send(res, 200, manifest);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      failures.push(`${req.url}: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const escaped = origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Each base with or without its trailing slash (bun records a registry as it was given).
  const ownUrl = new RegExp(`${escaped}(/[0-9a-f]{32})(/[^\\s"'#,)]*)?`, 'g');
  const upstreamOf = (scope: string | null) =>
    scope === null ? opts.upstreams.default : (opts.upstreams.scopes.get(scope) ?? opts.upstreams.default);

  return {
    url: baseOf(null),
    scopeUrls: new Map([...opts.upstreams.scopes.keys()].map((scope) => [scope, baseOf(scope)])),
    toUpstream: (text) =>
      text.replace(ownUrl, (url, prefix: string, path: string | undefined) => {
        if (!prefixes.has(prefix)) return url;
        const upstream = upstreamOf(prefixes.get(prefix)!);
        if (path === undefined) return upstream.replace(/\/$/, '');
        const rest = path.slice(1);
        let local: ReturnType<typeof tarballs.get>;
        try {
          local = tarballs.get(decodeURIComponent(rest));
        } catch {
          local = undefined;
        }
        return local ? local.upstream : `${upstream}${rest}`;
      }),
    failures: () => [...failures],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * `/name`, `/@scope%2fname` or `/@scope/name`, then `/<version>` or `/-/<file>.tgz`; the decoded
 * path (for tarball lookups) and the name, validated before anything is fetched.
 */
function parseRoute(rawUrl: string): { name: string; rest: string[]; path: string } | undefined {
  let segments: string[];
  try {
    segments = (rawUrl.split('?')[0] ?? '').split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  segments = segments.flatMap((s) => (s.startsWith('@') && s.includes('/') ? s.split('/') : [s]));
  const first = segments[0];
  if (!first || first === '-') return undefined;
  const scoped = first.startsWith('@');
  const name = scoped ? `${first}/${segments[1] ?? ''}` : first;
  if (explainInvalidPackageName(name) !== undefined) return undefined;
  const rest = segments.slice(scoped ? 2 : 1);
  if (rest.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return { name, rest, path: [name, ...rest].join('/') };
}
