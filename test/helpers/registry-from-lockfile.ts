// Packuments for every name@version a package-lock.json pins (bundled ones too), as the registry
// published them: each version with the dependencies, bundle list, engines and platform limits the
// lockfile recorded. Lets update run against a real lockfile on a loopback fake registry.
import { readFileSync, writeFileSync } from 'node:fs';
import { type FullPackument, makePackument, tarballUrl, type VersionSpec } from './make-packument.js';

const MANIFEST_FIELDS = [
  'dependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bundleDependencies',
  'engines',
  'os',
  'cpu',
  'bin',
  'license',
] as const;

/** Newer versions to publish besides the pinned ones: name → versions (published `publishedAt`). */
export type ExtraVersions = Record<string, { version: string; publishedAt: Date }[]>;

export function packumentsFromLockfile(
  lockfile: string,
  opts: { publishedAt: Date; extra?: ExtraVersions },
): FullPackument[] {
  const doc = JSON.parse(readFileSync(lockfile, 'utf8')) as {
    packages: Record<string, Record<string, unknown>>;
  };
  const byName = new Map<string, Map<string, VersionSpec>>();
  for (const [location, entry] of Object.entries(doc.packages)) {
    if (location === '' || entry.link || typeof entry.version !== 'string') continue;
    if (!location.includes('node_modules/')) continue; // a workspace folder
    const name =
      (entry.name as string | undefined) ?? location.slice(location.lastIndexOf('node_modules/') + 13);
    const versions = byName.get(name) ?? new Map<string, VersionSpec>();
    if (!versions.has(entry.version)) {
      const files = Array.isArray(entry.bundleDependencies) ? bundleFiles(doc.packages, location) : undefined;
      const extra: Record<string, unknown> = {};
      for (const field of MANIFEST_FIELDS) if (entry[field] !== undefined) extra[field] = entry[field];
      const { dependencies, ...rest } = extra as { dependencies?: Record<string, string> };
      versions.set(entry.version, {
        version: entry.version,
        publishedAt: opts.publishedAt,
        ...(dependencies ? { dependencies } : {}),
        extra: rest,
        ...(files ? { files } : {}),
      });
    }
    byName.set(name, versions);
  }
  for (const [name, list] of Object.entries(opts.extra ?? {})) {
    const versions = byName.get(name);
    if (!versions) throw new Error(`${name} is not in ${lockfile}`);
    const newest = [...versions.values()].at(-1)!;
    for (const v of list) versions.set(v.version, { ...newest, ...v });
  }
  return [...byName].map(([name, versions]) => makePackument({ name, versions: [...versions.values()] }));
}

/** The bundle inside a bundler's tarball: `node_modules/<...>/package.json` of its inBundle entries. */
function bundleFiles(packages: Record<string, Record<string, unknown>>, at: string): Record<string, string> {
  const files: Record<string, string> = {};
  const prefix = `${at}/node_modules/`;
  for (const [location, entry] of Object.entries(packages)) {
    if (!location.startsWith(prefix) || !entry.inBundle) continue;
    const inner = location.slice(at.length + 1);
    const name = inner.slice(inner.lastIndexOf('node_modules/') + 13);
    const manifest: Record<string, unknown> = { name, version: entry.version };
    for (const field of MANIFEST_FIELDS) if (entry[field] !== undefined) manifest[field] = entry[field];
    files[`${inner}/package.json`] = `${JSON.stringify(manifest, null, 2)}\n`;
  }
  return files;
}

/**
 * The lockfile as if its packages had come from `registryUrl`: every registry entry's `resolved`
 * and `integrity` name that registry's tarball (the packuments above, served there).
 */
export function pointLockfileAt(lockfile: string, registryUrl: string, packuments: FullPackument[]): void {
  const text = readFileSync(lockfile, 'utf8');
  const doc = JSON.parse(text) as { packages: Record<string, Record<string, unknown>> };
  const byName = new Map(packuments.map((p) => [p.name, p]));
  for (const [location, entry] of Object.entries(doc.packages)) {
    if (typeof entry.resolved !== 'string' || entry.inBundle || !location.includes('node_modules/')) continue;
    const name =
      (entry.name as string | undefined) ?? location.slice(location.lastIndexOf('node_modules/') + 13);
    const manifest = byName.get(name)?.versions[entry.version as string];
    if (!manifest?.dist) continue;
    entry.resolved = tarballUrl(registryUrl, name, entry.version as string);
    entry.integrity = manifest.dist.integrity;
  }
  writeFileSync(lockfile, `${JSON.stringify(doc, null, 2)}\n`);
}
