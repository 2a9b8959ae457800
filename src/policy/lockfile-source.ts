// Where a lockfile says a package's bytes come from. An install from a lockfile fetches each
// entry's `resolved` URL as written, so a pull request that points one at another host (or drops
// its integrity) can hand a build any tarball while every name and version still looks right.
// Every registry entry that names a URL must name a registry the policy trusts, with an integrity,
// and its own tarball.
import { readTarballUrl } from './read-tarball-url.js';
import type { Finding, Policy } from './types.js';

export interface LockfileSourceEntry {
  name: string;
  version: string;
  /** The URL the lockfile records; absent when the lockfile leaves it to the configured registry. */
  resolved?: string;
  integrity?: string;
  /**
   * A hash the client verifies that is no SRI of the tarball (yarn Berry's `checksum` of its
   * cache archive): it pins the content where no integrity is recorded.
   */
  checksum?: string;
}

/**
 * Lockfile URLs the installing client replaces with the configured registry before fetching, so
 * that their host does not matter (npm's `replace-registry-host`): every URL (`always`), or those
 * on one host name (any scheme and port), optionally under a path prefix.
 */
export type RegistryRewrite = { all: true } | { hostname: string; pathPrefix?: string };

export interface LockfileSourceContext {
  policy: Pick<Policy, 'id' | 'action' | 'lockfileSource'>;
  /**
   * Registry URLs an install may fetch from: the configured registry and the policy's
   * `registries`. Compared as URL prefixes.
   */
  registries: readonly string[];
  /** What the client rewrites to the configured registry; absent: it fetches URLs as written. */
  rewrites?: RegistryRewrite;
}

export function evaluateLockfileSource(entry: LockfileSourceEntry, ctx: LockfileSourceContext): Finding[] {
  if (!ctx.policy.lockfileSource) return [];
  const spec = `${entry.name}@${entry.version}`;
  const trusted = ctx.registries.map(parseUrl).filter((u): u is URL => u !== undefined);
  const trustedHosts = [...new Set(trusted.map((u) => `${u.protocol}//${u.host}${u.pathname}`))].join(', ');
  const base = {
    name: entry.name,
    version: entry.version,
    rule: 'lockfile-source' as const,
    outcome: ctx.policy.action,
    effect: ctx.policy.action,
    scope: 'version' as const,
    threshold: trustedHosts,
  };
  const findings: Finding[] = [];
  if (entry.resolved !== undefined && entry.resolved !== '') {
    const url = parseUrl(entry.resolved);
    const rewritten = url !== undefined && ctx.rewrites !== undefined && isRewritten(url, ctx.rewrites);
    if (url === undefined || (!rewritten && !trusted.some((registry) => isUnder(url, registry)))) {
      const host = url === undefined ? 'an unparsable URL' : `${url.protocol}//${url.host}`;
      findings.push({
        ...base,
        message: `${spec} is fetched from ${host}, which is not the configured registry or one of the policy's registries (${trustedHosts || 'none'}): an install from this lockfile bypasses them`,
        hint: `regenerate the entry from your registry (npm install ${spec}), or add ${host} to "registries" in policy ${ctx.policy.id} if it is a registry you trust`,
        observed: host,
        evidence: { host: url?.host ?? null },
      });
    }
  }
  // A URL on a trusted registry can still fetch another package's (or version's) tarball, which
  // the install then gets while every other rule judges the name@version the entry claims. Only
  // URLs in the registry's `<name>/-/<name>-<version>.tgz` layout say what they fetch; others
  // (another registry's download path) cannot be compared and are left to the reader's warning.
  const names = entry.resolved ? readTarballUrl(entry.resolved) : undefined;
  if (
    names !== undefined &&
    !('unreadable' in names) &&
    (names.name !== entry.name || names.version !== entry.version)
  ) {
    const fetched = `${names.name}@${names.version}`;
    findings.push({
      ...base,
      message: `${spec} is fetched from the tarball of ${fetched} (${names.tarball}): an install gets ${fetched}'s bytes while every check judges ${spec}`,
      hint: `regenerate the entry (remove it from the lockfile and run npm install ${spec}) so that it names its own tarball`,
      threshold: `the tarball of ${spec}`,
      observed: fetched,
      evidence: { tarball: names.tarball },
    });
  }
  // An entry that names no URL is fetched from the configured registry by name and version; one
  // that names a URL without a hash lets whoever serves that URL decide the bytes.
  const named = entry.resolved !== undefined && entry.resolved !== '';
  // SHA-1 counts: the client verifies it (yarn 1 its `#<sha1>` URL fragment, npm a `sha1-`
  // integrity), and a swapped tarball would need a second preimage, which no one can compute; a
  // collision only lets a publisher prepare two tarballs for one pin, which no lockfile check can
  // tell. Lockfiles from before 2018 pin hundreds of entries this way (434 in the CRA one):
  // reporting each would bury the findings that matter.
  const strongest = named ? strongestHash(entry.integrity) : undefined;
  const pinnedByClient = entry.checksum !== undefined && entry.checksum !== '';
  if (named && strongest === undefined && !pinnedByClient) {
    const recorded = entry.integrity === undefined || entry.integrity === '' ? undefined : entry.integrity;
    findings.push({
      ...base,
      message:
        recorded === undefined
          ? `${spec} has no integrity in the lockfile: nothing pins the bytes an install gets`
          : `${spec} has no integrity hash a client can check in the lockfile (it records ${JSON.stringify(recorded.slice(0, 80))}): nothing pins the bytes an install gets`,
      hint: `regenerate the entry from your registry (npm install ${spec}) so the lockfile records its integrity`,
      threshold: 'an integrity hash',
      observed: null,
    });
  }
  return findings;
}

const HASH_STRENGTH = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
type HashAlgorithm = (typeof HASH_STRENGTH)[number];

/**
 * The strongest algorithm of a Subresource Integrity string (`sha512-<base64>`, several separated
 * by spaces, as npm and ssri read them), or undefined when it holds none a client checks.
 */
export function strongestHash(integrity: string | undefined): HashAlgorithm | undefined {
  let best = -1;
  for (const part of (integrity ?? '').trim().split(/\s+/)) {
    const m = /^(sha1|sha256|sha384|sha512)-[^?\s]+/.exec(part);
    if (m) best = Math.max(best, HASH_STRENGTH.indexOf(m[1] as HashAlgorithm));
  }
  return best === -1 ? undefined : HASH_STRENGTH[best];
}

/** Same scheme and host (case-insensitive, default ports folded), path under the registry's path. */
function isUnder(url: URL, registry: URL): boolean {
  if (url.protocol !== registry.protocol || url.host !== registry.host) return false;
  const prefix = registry.pathname.endsWith('/') ? registry.pathname : `${registry.pathname}/`;
  return url.pathname.startsWith(prefix);
}

/** Arborist's test: the host name alone (scheme and port aside), then the path prefix if any. */
function isRewritten(url: URL, rewrite: RegistryRewrite): boolean {
  if ('all' in rewrite) return true;
  if (url.hostname !== rewrite.hostname) return false;
  const prefix = rewrite.pathPrefix?.replace(/\/$/, '') ?? '';
  return prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
}

function parseUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
