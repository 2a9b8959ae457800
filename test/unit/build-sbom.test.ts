import { describe, expect, it } from 'vitest';
import { integrityHashes, npmPurl } from '../../src/engine/build-sbom.js';

describe('SBOM helpers', () => {
  it.each([
    ['left-pad', '1.3.0', 'pkg:npm/left-pad@1.3.0'],
    ['@acme/thing', '3.0.0', 'pkg:npm/%40acme/thing@3.0.0'],
    ['@acme/thing', '1.0.0-beta.1+build', 'pkg:npm/%40acme/thing@1.0.0-beta.1%2Bbuild'],
  ])('purl of %s@%s', (name, version, purl) => {
    expect(npmPurl(name, version)).toBe(purl);
  });

  it('reads subresource integrity strings as hex hashes, one per algorithm', () => {
    const sha1 = Buffer.from('a'.repeat(20)).toString('base64');
    const sha512 = Buffer.alloc(64, 7).toString('base64');
    expect(integrityHashes(`sha512-${sha512} sha1-${sha1} md5-xyz sha512-${sha1}`)).toEqual([
      { alg: 'SHA-512', content: '07'.repeat(64) },
      { alg: 'SHA-1', content: '61'.repeat(20) },
    ]);
    expect(integrityHashes(undefined)).toEqual([]);
  });
});
