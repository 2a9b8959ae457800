// Bundled dependencies arrive inside their bundler's tarball, never through a packument: a policy
// that hides a version from every document would still let it in that way. What a bundler's
// tarball carries is read here (the update's Arborist path reads it through Arborist instead), and
// a bundled package the policy blocks turns into a finding on the bundler version, with the same
// wording wherever it is found.
import semver from 'semver';
import type { Finding } from '../policy/types.js';
import { explainInvalidPackageName } from '../sources/package-name.js';
import type { Manifest, RegistrySource } from '../sources/types.js';
import { type UnpackedPackage, unpackTarball } from '../sources/unpack-tarball.js';

/** Whether a manifest declares bundled dependencies (either spelling; `true` bundles them all). */
export function declaresBundles(manifest: Record<string, unknown>): boolean {
  return [manifest.bundleDependencies, manifest.bundledDependencies].some((b) =>
    Array.isArray(b) ? b.length > 0 : !!b,
  );
}

/**
 * `node_modules/<name>/package.json` at any depth inside the package (a bundled package's own
 * bundled or nested dependencies are in the tarball too). Each segment stops at a `/`, so a hostile
 * path cannot make the match backtrack.
 */
export const BUNDLED_MANIFEST = /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+package\.json$/;

export interface BundledPackage {
  name: string;
  version: string;
  /** Where in the tarball (`node_modules/a/node_modules/b`). */
  path: string;
}

/**
 * The packages a bundler's tarball carries, from the manifests `unpackTarball` read with
 * `BUNDLED_MANIFEST`. A manifest that names no valid package or version cannot be on any registry
 * (there is nothing to judge it by, as for a private package); each name@version is listed once.
 */
export function bundledPackagesIn(unpacked: UnpackedPackage): BundledPackage[] {
  const out = new Map<string, BundledPackage>();
  for (const [file, text] of unpacked.texts) {
    if (!BUNDLED_MANIFEST.test(file)) continue;
    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof manifest !== 'object' || manifest === null) continue;
    const { name, version } = manifest as { name?: unknown; version?: unknown };
    if (typeof name !== 'string' || explainInvalidPackageName(name) !== undefined) continue;
    if (typeof version !== 'string' || semver.valid(version) === null) continue;
    const key = `${name}@${version}`;
    if (!out.has(key)) out.set(key, { name, version, path: file.slice(0, -'/package.json'.length) });
  }
  return [...out.values()];
}

export interface BundleReadLimits {
  /** Largest bundler tarball read (default 64 MB). */
  maxTarballBytes?: number;
  /** Largest unpacked size accepted (default 512 MB). */
  maxUnpackedBytes?: number;
}

/** A bundled package.json larger than this is no manifest a registry would accept. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * What `name@version` bundles, read from its tarball on `registry` (checked against the
 * document's integrity: the list belongs to the bytes clients verify). Throws with the reason
 * when the tarball cannot be had or read.
 */
export async function readBundledPackages(
  registry: RegistrySource,
  name: string,
  version: string,
  manifest: Manifest,
  limits: BundleReadLimits = {},
): Promise<BundledPackage[]> {
  if (!registry.getTarball) throw new Error('this registry source cannot fetch tarballs');
  const res = await registry.getTarball(name, version, {
    maxBytes: limits.maxTarballBytes ?? 64 * 1024 * 1024,
    ...(typeof manifest.dist?.tarball === 'string' ? { tarballUrl: manifest.dist.tarball } : {}),
    ...(typeof manifest.dist?.integrity === 'string' ? { integrity: manifest.dist.integrity } : {}),
  });
  if (res.status === 'not-found') throw new Error('the registry has no tarball for it');
  if (res.status === 'unavailable') throw new Error(res.reason);
  const unpacked = await unpackTarball(res.bytes, (file) => BUNDLED_MANIFEST.test(file), {
    maxUnpackedBytes: limits.maxUnpackedBytes ?? 512 * 1024 * 1024,
    maxFileBytes: MAX_MANIFEST_BYTES,
  });
  return bundledPackagesIn(unpacked);
}

/** The finding on `bundler@version` for a bundled package's own finding. */
export function bundleFinding(
  bundler: { name: string; version: string },
  bundled: { name: string; version: string },
  finding: Finding,
): Finding {
  return {
    ...finding,
    name: bundler.name,
    version: bundler.version,
    scope: 'version',
    message: `${bundler.name}@${bundler.version} bundles ${bundled.name}@${bundled.version}: ${finding.message}`,
    // The bundled package's dates are not the bundler's: the generic wording, not "published ... ago".
    evidence: { bundled: `${bundled.name}@${bundled.version}` },
  };
}
