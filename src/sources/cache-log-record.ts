// The record format of the cache log and its I/O: every record is written in one call (with
// O_APPEND the kernel places it whole at the end), and carries a CRC so that a torn or foreign
// record is a miss.

import { readSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate as turn } from 'node:timers/promises';
import { crc32 } from 'node:zlib';

// Record layout: magic, header length, body length, CRC-32 of header and body (all u32 LE), then
// the JSON header ({n: namespace, k: key, t: fetchedAtMs, e?: etag, r?: 1}) and the body. A
// record with `r` (refresh) has no body: it re-dates the key's latest body, so a document that
// came back unchanged (304, or the same bytes from a registry without ETags) costs a few bytes.
export const MAGIC = 0x3263_774c; // "Lwc2"
export const PREFIX_BYTES = 16;
export const MAX_HEADER_BYTES = 64 * 1024;

export interface RecordHeader {
  n: string;
  k: string;
  t: number;
  c: number;
  e?: string;
  r?: 1;
}

export function readHeader(fd: number, at: number, headerBytes: number): RecordHeader | undefined {
  const raw = Buffer.allocUnsafe(headerBytes);
  if (readSync(fd, raw, 0, headerBytes, at + PREFIX_BYTES) < headerBytes) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const h = header as Record<string, unknown>;
  if (typeof h.n !== 'string' || typeof h.k !== 'string') return undefined;
  if (typeof h.t !== 'number' || !Number.isFinite(h.t) || typeof h.c !== 'number') return undefined;
  if (h.e !== undefined && typeof h.e !== 'string') return undefined;
  return h as unknown as RecordHeader;
}

/** Reads `into.length` bytes at `at` through the log's own handle; undefined when short. */
export async function readAsync(fh: FileHandle, into: Buffer, at: number): Promise<Buffer | undefined> {
  const { bytesRead } = await fh.read(into, 0, into.length, at);
  return bytesRead === into.length ? into : undefined;
}

/** Appends one record with one writev (O_APPEND: the kernel places it whole at the end). */
export async function appendAsync(fh: FileHandle, parts: Buffer[]): Promise<void> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const { bytesWritten } = await fh.writev(parts);
  if (bytesWritten < total) throw new Error('short write to the cache log');
}

export function recordParts(header: Buffer, body: Buffer, crc = crc32(body, crc32(header))): Buffer[] {
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32LE(MAGIC, 0);
  prefix.writeUInt32LE(header.length, 4);
  prefix.writeUInt32LE(body.length, 8);
  prefix.writeUInt32LE(crc, 12);
  return [prefix, header, body];
}

/**
 * CRC-32 of a large buffer, `sliceBytes` per turn of the event loop. zlib's crc32 is synchronous:
 * over an 8 MB body it held the loop 2–3 ms per pass on the benchmark machine (several times that
 * under load), and storing and reading back a document takes three passes.
 */
export async function crc32Sliced(data: Buffer, sliceBytes: number, initial = 0): Promise<number> {
  if (data.length <= sliceBytes) return crc32(data, initial);
  let crc = initial;
  for (let at = 0; at < data.length; at += sliceBytes) {
    if (at > 0) await turn();
    crc = crc32(data.subarray(at, at + sliceBytes), crc);
  }
  return crc;
}

export function writeRecord(fd: number, header: Buffer, body: Buffer): void {
  const record = Buffer.concat(recordParts(header, body));
  if (writeSync(fd, record) < record.length) throw new Error('short write to the cache log');
}
