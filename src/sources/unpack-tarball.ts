// Reads the text files a comparison needs out of a package tarball, in memory: nothing is written
// to disk and nothing is run. Sizes are bounded (a gzip bomb fails, it does not fill memory), and
// entry paths are only ever map keys, so `../` in a hostile archive reaches nothing.
import { gunzip } from 'node:zlib';
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
  const files = new Set<string>();
  const texts = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const file = packagePath(entry.path);
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
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
  /** Largest total of the archive's entry sizes; past it the scan stops with a TarballError. */
  maxUnpackedBytes: number;
  /** Wanted files above this are listed in `oversize`, not read. */
  maxFileBytes: number;
  /** At most this many wanted files are read; past it `truncated` is set and the rest skipped. */
  maxWanted: number;
}

export interface ScannedFiles {
  texts: Map<string, string>;
  /** Wanted files not read for their size. */
  oversize: string[];
  truncated: boolean;
}

/**
 * Reads the wanted files of a (gzipped) tarball as it inflates, never holding the whole archive:
 * memory stays at the files kept, however large the archive claims or inflates to. Used where a
 * client may name the tarball (the proxy's bundle check): unlike `unpackTarball`, a small gzip bomb
 * or an archive of 400,000 tiny files costs a bounded amount of memory.
 */
export function scanTarball(
  bytes: Buffer,
  want: (file: string) => boolean,
  limits: ScanLimits,
): Promise<ScannedFiles> {
  const texts = new Map<string, string>();
  const oversize: string[] = [];
  let truncated = false;
  let unpacked = 0;
  return new Promise<ScannedFiles>((resolve, reject) => {
    let failed = false;
    const fail = (message: string) => {
      if (failed) return;
      failed = true;
      reject(new TarballError(message));
      parser.abort(new Error(message));
    };
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        unpacked += entry.size;
        if (unpacked > limits.maxUnpackedBytes) {
          entry.resume();
          return fail(`unpacks to more than ${Math.round(limits.maxUnpackedBytes / 1e6)} MB`);
        }
        const file = packagePath(entry.path);
        if ((entry.type !== 'File' && entry.type !== 'OldFile') || file === undefined || !want(file)) {
          entry.resume();
          return;
        }
        if (texts.size + oversize.length >= limits.maxWanted) {
          truncated = true;
          entry.resume();
          return;
        }
        if (entry.size > limits.maxFileBytes) {
          oversize.push(file);
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => texts.set(file, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('error', (err: Error) => fail(`not a tar archive: ${err.message}`));
    parser.on('warn', (code: string, message: string) => {
      if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') fail(`not a tar archive: ${message}`);
    });
    parser.on('end', () => {
      if (!failed) resolve({ texts, oversize, truncated });
    });
    // Fed a slice per turn of the event loop: inflating a large tarball in one call would hold up
    // every other request of the service meanwhile.
    let at = 0;
    const feed = () => {
      if (failed) return;
      if (at >= bytes.length) return void parser.end();
      const slice = bytes.subarray(at, at + SCAN_SLICE_BYTES);
      at += slice.length;
      parser.write(slice);
      setImmediate(feed);
    };
    feed();
  });
}

const SCAN_SLICE_BYTES = 256 * 1024;
