// Which package and version a lockfile's tarball URL names. Clients fetch an entry's URL as
// written, so an entry can claim one name@version while its URL fetches another's tarball.
// Registries lay tarballs out as `<name>/-/<unscoped name>-<version>.tgz` (some, such as
// Artifactory, as `<name>/-/<name>-<version>.tgz` for scoped names), possibly under a path prefix:
// in that layout the URL says what it fetches. Other layouts (download paths such as
// `/download/<name>/<version>/<hash>`, or a file that does not carry the name before `/-/`) cannot
// be read here: callers say so (a warning) rather than guess.
import semver from 'semver';

export type TarballUrl =
  /** The name and version the URL's path names; `tarball` is that path from the name on. */
  | { name: string; version: string; tarball: string }
  /** Why the URL cannot be read in the registry layout (for a warning). */
  | { unreadable: string };

export function readTarballUrl(resolved: string): TarballUrl {
  // Cheaper than new URL() for thousands of entries: the path starts after "scheme://host".
  const hostStart = resolved.indexOf('://');
  const pathStart = hostStart === -1 ? -1 : resolved.indexOf('/', hostStart + 3);
  if (pathStart === -1) return { unreadable: 'is not a registry tarball URL' };
  let pathname: string;
  try {
    pathname = decodeURIComponent(resolved.slice(pathStart).replace(/[?#].*$/s, ''));
  } catch {
    return { unreadable: 'has an unparseable URL' };
  }
  const marker = pathname.lastIndexOf('/-/');
  if (marker === -1) return { unreadable: 'is not a registry tarball URL' };
  const segments = pathname.slice(0, marker).split('/');
  const unscoped = segments.at(-1) ?? '';
  const scope = segments.at(-2);
  const name = scope?.startsWith('@') ? `${scope}/${unscoped}` : unscoped;
  const file = pathname.slice(marker + 3);
  const tarball = `${name}/-/${file}`;
  if (unscoped === '' || unscoped.startsWith('@')) return { unreadable: `resolves to ${tarball}` };
  const prefix = [`${unscoped}-`, `${name}-`].find((p) => file.startsWith(p));
  const version = prefix !== undefined && file.endsWith('.tgz') ? file.slice(prefix.length, -4) : '';
  // The version must be one: `foo/-/foo-bar-1.0.0.tgz` is no version of foo.
  if (semver.parse(version) === null) return { unreadable: `resolves to ${tarball}` };
  return { name, version, tarball };
}
