// Bundled dependencies arrive inside their bundler's tarball, never through a packument: a policy
// that hides a version from every document would still let it in that way. What a bundler's
// tarball carries is read here (the update's Arborist path reads it through Arborist instead), and
// a bundled package the policy blocks turns into a finding on the bundler version, with the same
// wording wherever it is found.
import semver from 'semver';
import type { Finding } from '../policy/types.js';
import { explainInvalidPackageName } from '../sources/package-name.js';
import type { UnpackedPackage } from '../sources/unpack-tarball.js';

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
