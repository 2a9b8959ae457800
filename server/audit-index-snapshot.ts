// Index snapshots of the embedded audit log: `<segment>.idx` beside `<segment>.jsonl` holds that
// segment's index rows (audit-index.ts), so a start reads a few typed arrays instead of parsing
// every JSON line (a log of 1,000,000 entries took 7.6 s to reopen, nearly all in JSON.parse).
// A snapshot covers the segment's first `coveredBytes`; lines after that (a segment still being
// written when the process was killed) are scanned. A snapshot that is torn, fails its checksum,
// or does not match its segment is ignored and the whole segment is scanned: snapshots only make
// a start faster, they never decide what the log holds.
//
// Layout: "LWAIDX1\n", u32 header length, the JSON header {segment, coveredBytes, rows, tables},
// zero padding to 8 bytes, the columns (ids, times, offsets: f64; lengths and one code column
// per field: u32; little-endian), then a CRC-32 of everything before it.
import { open, rename, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { INDEX_FIELDS, type IndexField, type SegmentRows } from './audit-index.js';

const MAGIC = Buffer.from('LWAIDX1\n');

export interface IndexSnapshot {
  coveredBytes: number;
  rows: SegmentRows;
}

const pad8 = (n: number) => (n + 7) & ~7;

export function encodeSnapshot(segment: number, coveredBytes: number, rows: SegmentRows): Buffer {
  const n = rows.ids.length;
  const header = Buffer.from(JSON.stringify({ segment, coveredBytes, rows: n, tables: rows.tables }));
  const columnsAt = pad8(MAGIC.length + 4 + header.length);
  const size = columnsAt + n * (3 * 8 + 4 + INDEX_FIELDS.length * 4) + 4;
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  let at = columnsAt;
  for (const column of [
    rows.ids,
    rows.times,
    rows.offsets,
    rows.lengths,
    ...INDEX_FIELDS.map((f) => rows.codes[f]),
  ]) {
    const bytes = Buffer.from(column.buffer, column.byteOffset, column.byteLength);
    bytes.copy(out, at);
    at += bytes.length;
  }
  out.writeUInt32LE(crc32(out.subarray(0, at)), at);
  return out;
}

/** The snapshot in `bytes`, or why it cannot be used for `segment`. */
export function decodeSnapshot(bytes: Buffer, segment: number): IndexSnapshot | string {
  if (bytes.length < MAGIC.length + 8 || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return 'not an index snapshot';
  const body = bytes.length - 4;
  if (crc32(bytes.subarray(0, body)) !== bytes.readUInt32LE(body)) return 'checksum mismatch (torn write?)';
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  let header: { segment?: unknown; coveredBytes?: unknown; rows?: unknown; tables?: unknown };
  try {
    header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength));
  } catch {
    return 'unreadable header';
  }
  const n = header.rows;
  const coveredBytes = header.coveredBytes;
  if (header.segment !== segment) return `made for segment ${String(header.segment)}`;
  if (!Number.isSafeInteger(n) || (n as number) < 0) return 'bad row count';
  if (!Number.isSafeInteger(coveredBytes) || (coveredBytes as number) < 0) return 'bad coveredBytes';
  const rowCount = n as number;
  const tables = header.tables as Record<IndexField, unknown> | undefined;
  for (const f of INDEX_FIELDS) {
    const t = tables?.[f];
    if (!Array.isArray(t) || !t.every((v) => typeof v === 'string')) return `bad ${f} table`;
  }
  let at = pad8(MAGIC.length + 4 + headerLength);
  if (at + rowCount * (3 * 8 + 4 + INDEX_FIELDS.length * 4) !== body) return 'length does not match its rows';
  // Copied out: typed arrays need aligned memory of their own.
  const take = <T>(make: (b: ArrayBuffer) => T, width: number): T => {
    const copy = new Uint8Array(rowCount * width);
    copy.set(bytes.subarray(at, at + copy.length));
    at += copy.length;
    return make(copy.buffer);
  };
  const rows: SegmentRows = {
    ids: take((b) => new Float64Array(b), 8),
    times: take((b) => new Float64Array(b), 8),
    offsets: take((b) => new Float64Array(b), 8),
    lengths: take((b) => new Uint32Array(b), 4),
    codes: {} as Record<IndexField, Uint32Array>,
    tables: tables as Record<IndexField, string[]>,
  };
  for (const f of INDEX_FIELDS) rows.codes[f] = take((b) => new Uint32Array(b), 4);
  // What the index relies on: ids rising from the segment's first, lines in order inside the
  // covered bytes, codes inside their tables.
  let previousId = segment - 1;
  let previousEnd = 0;
  for (let i = 0; i < rowCount; i++) {
    const id = rows.ids[i]!;
    const offset = rows.offsets[i]!;
    if (!Number.isSafeInteger(id) || id <= previousId) return `row ${i}: ids out of order`;
    if (
      !Number.isSafeInteger(offset) ||
      offset < previousEnd ||
      offset + rows.lengths[i]! > (coveredBytes as number)
    )
      return `row ${i}: bad offset`;
    if (!Number.isFinite(rows.times[i])) return `row ${i}: bad time`;
    previousId = id;
    previousEnd = offset + rows.lengths[i]! + 1;
  }
  for (const f of INDEX_FIELDS) {
    const max = rows.tables[f].length;
    const codes = rows.codes[f];
    for (let i = 0; i < rowCount; i++) if (codes[i]! > max) return `bad ${f} codes`;
  }
  return { coveredBytes: coveredBytes as number, rows };
}

/** Writes a snapshot so that a crash leaves the old file, the new one, or none: never a torn one in place. */
export async function writeSnapshot(file: string, bytes: Buffer): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
