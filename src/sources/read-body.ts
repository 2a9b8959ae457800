// Reading a response body: the size limit on the wire and after decoding (so a small compressed
// bomb cannot blow up memory), and decompression sized to stay off the event loop for large bodies.
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  brotliDecompress,
  brotliDecompressSync,
  gunzip,
  gunzipSync,
  inflate,
  inflateSync,
  type ZlibOptions,
} from 'node:zlib';

/** A body over the limit; its message says how large and what the limit is. */
export class TooLargeError extends Error {}

/**
 * Compressed bodies up to this size are decoded in one synchronous call: a decoding stream costs
 * more per document in bookkeeping (pipeline, abort signals, a callback per 16 KB) than the
 * inflate itself, and a cold audit decodes thousands of documents. Larger ones (JSON inflates to
 * about ten times its gzip size) are decoded in the thread pool so the event loop, which may be
 * serving a proxy's clients, is held up for a millisecond or two at most.
 */
const SYNC_DECODE_MAX_BYTES = 128 * 1024;

interface Codec {
  sync(raw: Buffer, options: ZlibOptions): Buffer;
  async(raw: Buffer, options: ZlibOptions): Promise<Buffer>;
}

const CODECS: Record<string, Codec> = {
  gzip: { sync: gunzipSync, async: promisify(gunzip) },
  'x-gzip': { sync: gunzipSync, async: promisify(gunzip) },
  deflate: { sync: inflateSync, async: promisify(inflate) },
  br: { sync: brotliDecompressSync, async: promisify(brotliDecompress) },
};

export async function readBody(
  body: Readable,
  encoding: string | undefined,
  maxBytes: number,
  onWireBytes: (n: number) => void,
): Promise<Buffer> {
  const name = encoding?.trim().toLowerCase();
  const codec = name && Object.hasOwn(CODECS, name) ? CODECS[name] : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    onWireBytes(chunk.length);
    size += chunk.length;
    // Compressed bytes are fewer than the decoded ones, so this bounds the wire as well.
    if (size > maxBytes) throw new TooLargeError(tooLarge(size, maxBytes, true));
    chunks.push(chunk);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  return codec ? decode(raw, codec, maxBytes) : raw;
}

/** Whether a body sent with this Content-Encoding (none and `identity` included) can be read here. */
export function canDecode(encoding: string | undefined): boolean {
  const name = encoding?.trim().toLowerCase();
  return !name || name === 'identity' || Object.hasOwn(CODECS, name);
}

/**
 * A whole body already read, decoded as its Content-Encoding says, at most `maxBytes` decoded
 * (TooLargeError past it). Throws for an encoding `canDecode` refuses.
 */
export async function decodeBytes(
  raw: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const name = encoding?.trim().toLowerCase();
  if (!name || name === 'identity') return raw;
  if (!Object.hasOwn(CODECS, name))
    throw new Error(`content-encoding ${JSON.stringify(encoding)} is not supported`);
  return decode(raw, CODECS[name]!, maxBytes);
}

async function decode(raw: Buffer, codec: Codec, maxBytes: number): Promise<Buffer> {
  // Decoding stops at the limit, so a small compressed bomb cannot blow up memory. Each output
  // chunk of an asynchronous decode is a round trip through the event loop: with 256 KB chunks a
  // 21 MB document took 82 of them, and behind a proxy's busy loop its decode stretched from
  // 40 ms to 0.8 s. Chunks sized for the expected output (JSON inflates about tenfold) take one
  // or two (docs/performance.md).
  const options: ZlibOptions = {
    maxOutputLength: maxBytes,
    chunkSize: decodeChunkSize(raw.length, maxBytes),
  };
  try {
    const decoded =
      raw.length <= SYNC_DECODE_MAX_BYTES ? codec.sync(raw, options) : await codec.async(raw, options);
    return compact(decoded);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new TooLargeError(tooLarge(maxBytes + 1, maxBytes, true));
    throw err;
  }
}

/**
 * A body smaller than its output chunk is a view of that chunk: keeping it (the proxy keeps the
 * bytes of every document it caches) would keep the whole chunk, 256 KB for a 2 KB document.
 * Copied out when that wastes more than it holds.
 */
export function compact(bytes: Buffer): Buffer {
  return bytes.buffer.byteLength > 2 * bytes.length + 4096 ? Buffer.from(bytes) : bytes;
}

/** Output chunk size for decoding `compressedBytes`: sixteen times the input, within [256 KB, limit]. */
export function decodeChunkSize(compressedBytes: number, maxBytes: number): number {
  return Math.max(MIN_CHUNK_BYTES, Math.min(maxBytes, compressedBytes * 16));
}

const MIN_CHUNK_BYTES = 256 * 1024;

export function tooLarge(size: number, max: number, atLeast = false): string {
  return `document too large (${atLeast ? 'over ' : ''}${formatBytes(size)}; limit ${formatBytes(max)})`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
