import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeChunkSize, readBody } from '../../src/sources/read-body.js';

const LIMIT = 64 * 1024 * 1024;

describe('readBody', () => {
  it('decodes a large body in one output chunk sized from its compressed size', () => {
    expect(decodeChunkSize(100, LIMIT)).toBe(256 * 1024);
    expect(decodeChunkSize(1_600_000, LIMIT)).toBe(25_600_000);
    expect(decodeChunkSize(10_000_000, LIMIT)).toBe(LIMIT);
  });

  it('does not keep a small decoded body as a view of its large output chunk', async () => {
    // Incompressible: 1 MB in, about 1 MB out, in a chunk sized for 16 MB.
    const plain = randomBytes(1024 * 1024);
    const body = await readBody(Readable.from([gzipSync(plain)]), 'gzip', LIMIT, () => {});
    expect(body.equals(plain)).toBe(true);
    expect(body.buffer.byteLength).toBeLessThan(4 * 1024 * 1024);
  });

  it('does not keep a small body decoded in one call as a view of its 256 KB output chunk', async () => {
    const plain = Buffer.from(JSON.stringify({ name: 'a', versions: { '1.0.0': {} } }));
    const body = await readBody(Readable.from([gzipSync(plain)]), 'gzip', LIMIT, () => {});
    expect(body.equals(plain)).toBe(true);
    expect(body.buffer.byteLength).toBeLessThan(64 * 1024);
  });

  it('decodes a compressible body whole', async () => {
    const plain = Buffer.from(
      JSON.stringify({ versions: Array.from({ length: 50_000 }, (_, i) => `1.0.${i}`) }),
    );
    const body = await readBody(Readable.from([gzipSync(plain)]), 'gzip', LIMIT, () => {});
    expect(body.equals(plain)).toBe(true);
  });
});
