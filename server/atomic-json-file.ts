// A lowdb adapter that survives a crash mid-write: the document goes to a temporary file that is
// flushed to disk and renamed over the old one, so a reader sees the old or the new file, never
// half of one. A file that is not valid JSON (edited by hand, disk trouble) is moved aside and
// reported instead of being overwritten with an empty state.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

export interface AtomicJsonFileOptions<T> {
  /** Called when an unreadable file was moved aside; `movedTo` is its new path. */
  onCorrupt?: (file: string, movedTo: string, reason: string) => void;
  /** Writes the document as JSON text; `JSON.stringify` unless the caller can do it cheaper. */
  serialize?: (data: T) => string;
}

export class AtomicJsonFile<T> implements Adapter<T> {
  readonly file: string;
  readonly #onCorrupt: AtomicJsonFileOptions<T>['onCorrupt'];
  readonly #serialize: (data: T) => string;
  #queue: Promise<void> = Promise.resolve();

  constructor(file: string, options: AtomicJsonFileOptions<T> = {}) {
    this.file = file;
    this.#onCorrupt = options.onCorrupt;
    this.#serialize = options.serialize ?? ((data) => JSON.stringify(data));
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      const movedTo = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, movedTo);
      this.#onCorrupt?.(this.file, movedTo, (err as Error).message);
      return null;
    }
  }

  /**
   * Keeps a copy of the file as it is on disk (valid JSON whose content the caller cannot use in
   * full) beside it, and reports it; the next write replaces the file itself. Returns the copy.
   */
  async keepAside(reason: string): Promise<string> {
    const copy = `${this.file}.corrupt-${Date.now()}`;
    await copyFile(this.file, copy);
    this.#onCorrupt?.(this.file, copy, reason);
    return copy;
  }

  /** Writes are queued so two flushes never interleave their renames. */
  write(data: T): Promise<void> {
    const text = this.#serialize(data);
    const next = this.#queue.then(() => this.#writeNow(text));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #writeNow(text: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const temp = join(dirname(this.file), `.${basename(this.file)}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temp, 'w', 0o600);
    try {
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (err) {
      // A full disk fails the write or the sync: a temporary file left behind would take the
      // space freed later, so it goes whatever step failed.
      await unlink(temp).catch(() => {});
      throw err;
    }
  }
}
