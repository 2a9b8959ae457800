// Whether a tarball's bytes are the ones its document published: Subresource Integrity (what
// clients check), or the legacy `shasum` where a document has no integrity.
import type { Manifest } from './types.js';

/** Whether `bytes` match one of the Subresource Integrity hashes (sha512/sha384/sha256/sha1) given. */
export function matchesIntegrity(bytes: Buffer, integrity: string): boolean {
  const known = new Set(['sha512', 'sha384', 'sha256', 'sha1']);
  let checked = false;
  for (const token of integrity.trim().split(/\s+/)) {
    const m = /^(sha\d+)-([A-Za-z0-9+/=]+)/.exec(token);
    if (!m || !known.has(m[1]!)) continue;
    checked = true;
    // Loaded here, not imported: node:crypto costs a `lockwarden check` ~7 ms to load, and only a
    // tarball's check needs it (npm run bench:check).
    const { createHash } = process.getBuiltinModule('node:crypto');
    if (createHash(m[1]!).update(bytes).digest('base64') === m[2]) return true;
  }
  return !checked;
}

/** Whether `bytes` have the SHA-1 hex digest `shasum` (documents older than integrity carry only this). */
export function matchesShasum(bytes: Buffer, shasum: string): boolean {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha1').update(bytes).digest('hex') === shasum.trim().toLowerCase();
}

/** Whether `integrity` names a hash `matchesIntegrity` can check (anything else verifies nothing). */
export function hasCheckableIntegrity(integrity: string): boolean {
  return integrity
    .trim()
    .split(/\s+/)
    .some((token) => /^sha(?:512|384|256|1)-[A-Za-z0-9+/=]+/.test(token));
}

/**
 * The digest a version's document gives its tarball's bytes: a checkable integrity, else the
 * legacy shasum; undefined when it has neither (then nothing says which bytes are the version's).
 */
export function publishedDigest(manifest: Manifest): { integrity: string } | { shasum: string } | undefined {
  const dist = manifest.dist;
  if (typeof dist?.integrity === 'string' && hasCheckableIntegrity(dist.integrity))
    return { integrity: dist.integrity };
  if (typeof dist?.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum.trim()))
    return { shasum: dist.shasum };
  return undefined;
}
