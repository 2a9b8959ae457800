// Reads the text files a comparison needs out of a package tarball, in memory: nothing is written
// to disk and nothing is run. Sizes are bounded (a gzip bomb fails, it does not fill memory), and
// entry paths are only ever map keys, so `../` in a hostile archive reaches nothing.
import { createGunzip, gunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';

export interface UnpackLimits {
  /** Largest unpacked archive accepted. */
  maxUnpackedBytes: number;
  /** Files above this are listed but not read. */
  maxFileBytes: number;
}

export interface UnpackedPackage {
  /** Every regular file, relative to the package root (`dist/index.d.ts`). */
  files: Set<string>;
  /** Contents of the files `want` selected. */
  texts: Map<string, string>;
}

export class TarballError extends Error {}

/**
 * Whether the archive bytes (already gunzipped) are compressed again (gzip, zstd). tar would
 * inflate them itself, synchronously and past any limit counted here; npm refuses such a tarball
 * (TAR_BAD_ARCHIVE). A hand-made tar whose first file name starts with those bytes is refused too
 * (`npm pack` always writes `package/` first): it fails closed, a 502.
 */
function compressedAgain(bytes: Uint8Array): boolean {
  return (
    (bytes[0] === 0x1f && bytes[1] === 0x8b) ||
    (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd)
  );
}

/** Regular files, as npm's extraction takes them (`File`, `OldFile`, `ContiguousFile`). */
const isFile = (type: string) => /File$/.test(type);

function gunzipBounded(bytes: Buffer, maxOutputLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(bytes, { maxOutputLength }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
        return reject(new TarballError(`unpacks to more than ${Math.round(maxOutputLength / 1e6)} MB`));
      reject(new TarballError(`not a gzip archive: ${err.message}`));
    });
  });
}

/** `package/dist/x.d.ts` → `dist/x.d.ts`; undefined for paths that leave the package. */
function packagePath(raw: string): string | undefined {
  const parts = raw
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  parts.shift(); // the top folder, `package/` in npm's tarballs (any name is accepted, as npm does)
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/');
}

export async function unpackTarball(
  bytes: Buffer,
  want: (file: string) => boolean,
  limits: UnpackLimits,
): Promise<UnpackedPackage> {
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const tarBytes = gzipped ? await gunzipBounded(bytes, limits.maxUnpackedBytes) : bytes;
  if (compressedAgain(tarBytes)) throw new TarballError('not a tar archive: compressed twice');
  const files = new Set<string>();
  const texts = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const file = packagePath(entry.path);
        if (!isFile(entry.type)) {
          entry.resume();
          return;
        }
        if (file === undefined) {
          entry.resume();
          return;
        }
        files.add(file);
        if (!want(file) || entry.size > limits.maxFileBytes) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => texts.set(file, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('error', (err: Error) => reject(new TarballError(`not a tar archive: ${err.message}`)));
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE') reject(new TarballError(`not a tar archive: ${message}`));
    });
    parser.on('end', () => resolve());
    parser.end(tarBytes);
  });
  return { files, texts };
}

export interface ScanLimits {
  /** Most bytes the archive may inflate to; past it the scan stops with a TarballError. */
  maxUnpackedBytes: number;
  /** Wanted files above this are listed in `oversize`, not read. */
  maxFileBytes: number;
  /** At most this many wanted files are read; past it `truncated` is set and the rest skipped. */
  maxWanted: number;
  /** At most this many bytes of wanted files are kept; past it `truncated` is set. */
  maxKeptBytes: number;
  /** Most entries (files, directories, links) the archive may have; past it, a TarballError. */
  maxEntries: number;
}

export interface ScannedFiles {
  texts: Map<string, string>;
  /** Wanted files not read for their size (paths cut to 200 characters). */
  oversize: string[];
  truncated: boolean;
}

/** Paths longer than this are no package's files (a pax header can make one a megabyte long). */
const MAX_PATH_LENGTH = 4096;

/**
 * Reads the wanted files of a (gzipped) tarball as it inflates, never holding the whole archive.
 * Used where a client may name the tarball (the proxy's bundle check), so everything is bounded:
 * the inflated bytes are counted as they come out of zlib (which inflates in the thread pool, not
 * on the event loop), an archive compressed twice is refused (tar would inflate the inner layer
 * itself, uncounted), pax headers are capped, the number of entries and the bytes kept are
 * capped, and the scan stops at the archive's end marker, as npm's extraction does.
 */
export function scanTarball(
  bytes: Buffer,
  want: (file: string) => boolean,
  limits: ScanLimits,
): Promise<ScannedFiles> {
  const texts = new Map<string, string>();
  const oversize: string[] = [];
  let truncated = false;
  let kept = 0;
  let entries = 0;
  let inflated = 0;
  return new Promise<ScannedFiles>((resolve, reject) => {
    let settled = false;
    const gunzip =
      bytes[0] === 0x1f && bytes[1] === 0x8b ? createGunzip({ chunkSize: 64 * 1024 }) : undefined;
    const finish = (err?: TarballError) => {
      if (settled) return;
      settled = true;
      gunzip?.destroy();
      if (err) reject(err);
      else resolve({ texts, oversize, truncated });
    };
    const parser = new Parser({
      // Pax and long-name headers are parsed by tar itself; a megabyte each (its default) lets a
      // small archive cost seconds of CPU. Real ones are a few hundred bytes.
      maxMetaEntrySize: 64 * 1024,
      onReadEntry: (entry: ReadEntry) => {
        entry.resume();
        if (++entries > limits.maxEntries)
          return finish(new TarballError(`has more than ${limits.maxEntries} entries`));
        if (!isFile(entry.type)) return;
        if (entry.path.length > MAX_PATH_LENGTH) return;
        const file = packagePath(entry.path);
        if (file === undefined || !want(file)) return;
        if (texts.size + oversize.length >= limits.maxWanted || kept + entry.size > limits.maxKeptBytes) {
          truncated = true;
          return;
        }
        if (entry.size > limits.maxFileBytes) {
          oversize.push(file.slice(0, 200));
          return;
        }
        kept += entry.size;
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => texts.set(file, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('error', (err: Error) => finish(new TarballError(`not a tar archive: ${err.message}`)));
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT')
        finish(new TarballError(`not a tar archive: ${message}`));
    });
    // The end marker: what follows is not read (tar would otherwise keep inflating it).
    parser.on('eof', () => finish());
    parser.on('end', () => finish());
    let first = true;
    const write = (chunk: Buffer) => {
      if (settled) return;
      if (first) {
        first = false;
        if (compressedAgain(chunk)) return finish(new TarballError('not a tar archive: compressed twice'));
      }
      inflated += chunk.length;
      if (inflated > limits.maxUnpackedBytes)
        return finish(
          new TarballError(`unpacks to more than ${Math.round(limits.maxUnpackedBytes / 1e6)} MB`),
        );
      try {
        parser.write(chunk);
      } catch (err) {
        // tar throws for what it cannot parse (an unsupported compression inside): never past here.
        finish(new TarballError(`not a tar archive: ${(err as Error).message}`));
      }
    };
    const end = () => {
      if (settled) return;
      try {
        parser.end();
      } catch (err) {
        finish(new TarballError(`not a tar archive: ${(err as Error).message}`));
      }
    };
    if (!gunzip) {
      // A slice per turn of the event loop: a 64 MB archive must not hold up every other request.
      let at = 0;
      const feed = () => {
        if (settled) return;
        if (at >= bytes.length) return end();
        write(bytes.subarray(at, at + SCAN_SLICE_BYTES));
        at += SCAN_SLICE_BYTES;
        setImmediate(feed);
      };
      feed();
      return;
    }
    gunzip.on('data', write);
    gunzip.on('end', end);
    gunzip.on('error', (err: Error) => finish(new TarballError(`not a gzip archive: ${err.message}`)));
    gunzip.end(bytes);
  });
}

const SCAN_SLICE_BYTES = 64 * 1024;
