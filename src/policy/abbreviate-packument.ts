// The abbreviated install document (`application/vnd.npm.install-v1+json`) built from a full
// packument, for upstreams that ignore that Accept header. Installers read only these fields;
// leaving out readmes, maintainers and per-version times makes documents several times smaller.
import type { Manifest, Packument } from '../sources/types.js';

export const ABBREVIATED_CONTENT_TYPE = 'application/vnd.npm.install-v1+json';

/** Per-version fields an installer needs, as the public registry's abbreviated documents carry them. */
export const ABBREVIATED_VERSION_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bundleDependencies',
  'bundledDependencies',
  'acceptDependencies',
  'bin',
  'directories',
  'engines',
  'os',
  'cpu',
  'libc',
  'funding',
  // Not in the public registry's abbreviated documents, but license checkers (`pnpm licenses`)
  // read it from the install document, and a proxy should not be the reason it is missing.
  'license',
  'dist',
  'hasInstallScript',
  '_hasShrinkwrap',
] as const;

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

function createMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function abbreviatePackument(packument: Packument): Packument {
  const versions = createMap<Manifest>();
  const source: Record<string, unknown> = isObject(packument.versions) ? packument.versions : {};
  for (const version of Object.keys(source)) {
    const manifest = source[version];
    if (isObject(manifest)) versions[version] = abbreviateManifest(manifest);
  }
  const out = createMap<unknown>() as Packument;
  out.name = packument.name;
  out['dist-tags'] = isObject(packument['dist-tags']) ? packument['dist-tags'] : createMap<string>();
  out.versions = versions;
  const modified = modifiedOf(packument);
  if (modified !== undefined) out.modified = modified;
  return out;
}

function abbreviateManifest(manifest: Record<string, unknown>): Manifest {
  const out = createMap<unknown>();
  for (const field of ABBREVIATED_VERSION_FIELDS) {
    if (manifest[field] !== undefined) out[field] = manifest[field];
  }
  if (out.hasInstallScript === undefined && hasInstallScripts(manifest.scripts)) out.hasInstallScript = true;
  return out as Manifest;
}

/**
 * Whether a manifest's `scripts` run at install. Registries compute `hasInstallScript` at publish
 * time; documents that lack the flag still carry the scripts.
 */
export function hasInstallScripts(scripts: unknown): boolean {
  return isObject(scripts) && INSTALL_SCRIPTS.some((s) => typeof scripts[s] === 'string');
}

/** `time.modified` when the registry keeps it, else the newest timestamp in `time`. */
function modifiedOf(packument: Packument): string | undefined {
  if (typeof packument.modified === 'string') return packument.modified;
  const time = packument.time;
  if (!isObject(time)) return undefined;
  if (typeof time.modified === 'string') return time.modified;
  let newest: number | undefined;
  for (const value of Object.values(time)) {
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms) && (newest === undefined || ms > newest)) newest = ms;
  }
  return newest === undefined ? undefined : new Date(newest).toISOString();
}
