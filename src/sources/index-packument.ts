// A packument read as bytes: one validating pass over the upstream's JSON that records where each
// top-level field, each entry of `versions` and each field of a version sits, without building
// the document. The proxy serves documents of tens of MB (`next` is 21 MB) on the install's
// critical path; JSON.parse of all of it, a depth walk and JSON.stringify of what is served cost
// ~0.3 s of one thread per 10 MB (docs/performance.md), while the policy reads only the
// version keys, `time` and `dist-tags`. Hand-written because no maintained JSON library returns
// byte ranges, and the benchmark there shows the pass at a third of JSON.parse alone.
//
// The pass accepts exactly RFC 8259 JSON (strings, escapes, numbers, literals), so any range it
// returns parses with JSON.parse, and a client parsing the bytes we pass through sees the same
// structure we judged. Keys that would let the two readings differ are refused: a duplicate key
// at a level we index (JSON.parse keeps the last, a splice could keep the first).

/** One field of an object: its key (decoded) and where its value is. */
export interface FieldRange {
  key: string;
  valueStart: number;
  valueEnd: number;
}

/** One entry of `versions`; `fields` is null when the value is not an object. */
export interface VersionRange extends FieldRange {
  fields: readonly FieldRange[] | null;
}

export interface PackumentIndex {
  bytes: Buffer;
  /** Top-level fields in document order. */
  fields: readonly FieldRange[];
  /** Entries of `versions` in document order; empty when there is no `versions` object. */
  versions: VersionRange[];
  /** Roughly what the index itself holds in memory, in bytes (for the proxy's cache budget). */
  size: number;
}

export type IndexResult = { ok: true; index: PackumentIndex } | { ok: false; reason: string };

class InvalidDocument extends Error {}

/** The fields of every empty object: one shared array (never written to). */
const NO_FIELDS: readonly FieldRange[] = Object.freeze([]) as readonly FieldRange[];

/** Distinct keys kept decoded (a real document has a few hundred). */
const MAX_INTERNED_KEYS = 4096;

/**
 * What a recorded range costs in memory, measured (the proxy's cache budget counts it): a field
 * about 100 bytes, a version with its manifest's getter and property about 300.
 */
const FIELD_BYTES = 100;
const VERSION_BYTES = 300;

/**
 * Bounds on what one document may make the index hold, far above real documents (the largest
 * have ~20,000 versions and ~600,000 fields): a 64 MB document of empty versions or one-letter
 * fields would otherwise cost gigabytes of heap.
 */
export const MAX_INDEXED_VERSIONS = 100_000;
export const MAX_INDEXED_FIELDS = 2_000_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Escape letters JSON allows after a backslash (besides `u`). */
const SIMPLE_ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPES[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/**
 * Indexes a packument. `maxDepth` bounds nesting as the proxy's depth walk did (the root object
 * is level 1): deeper documents are refused, since re-serializing one overflows the stack.
 */
export function indexPackument(
  bytes: Buffer,
  maxDepth: number,
  limits: { versions: number; fields: number } = {
    versions: MAX_INDEXED_VERSIONS,
    fields: MAX_INDEXED_FIELDS,
  },
): IndexResult {
  const scanner = new Scanner(bytes, maxDepth, limits);
  try {
    return { ok: true, index: scanner.document() };
  } catch (err) {
    if (err instanceof InvalidDocument) return { ok: false, reason: err.message };
    // RangeError from a deep recursion cannot happen below maxDepth; anything else is ours.
    throw err;
  }
}

class Scanner {
  private i = 0;
  private readonly n: number;
  private readonly keys = new Map<number, string>();
  private ranges = 0;

  constructor(
    private readonly b: Buffer,
    private readonly maxDepth: number,
    private readonly limits: { versions: number; fields: number },
  ) {
    this.n = b.length;
  }

  document(): PackumentIndex {
    this.refuseBom();
    this.ws();
    if (this.b[this.i] !== OPEN_OBJECT) this.refuse('document is not a JSON object');
    let versions: VersionRange[] = [];
    const fields = this.object(1, (key, depth) => {
      if (key === 'versions' && this.b[this.i] === OPEN_OBJECT) {
        const entries: VersionRange[] = [];
        this.object(depth, (version, versionDepth) => {
          const start = this.i;
          const fields = this.b[start] === OPEN_OBJECT ? this.object(versionDepth, null) : null;
          if (fields === null) this.value(versionDepth);
          entries.push({ key: version, valueStart: start, valueEnd: this.i, fields });
          if (entries.length > this.limits.versions)
            this.refuse(`document lists more than ${this.limits.versions} versions (not handled safely)`);
          return true;
        });
        versions = entries;
        return true;
      }
      return false;
    });
    this.ws();
    if (this.i !== this.n) this.fail(`unexpected data after the document at byte ${this.i}`);
    return {
      bytes: this.b,
      fields,
      versions,
      size: this.ranges * FIELD_BYTES + versions.length * VERSION_BYTES,
    };
  }

  /**
   * An object at `depth` (the object's own level), recording its fields. `child` scans a field's
   * value itself and returns true, or returns false to have it skipped; null skips every value.
   */
  private object(
    depth: number,
    child: ((key: string, depth: number) => boolean) | null,
  ): readonly FieldRange[] {
    if (depth > this.maxDepth) this.tooDeep();
    const b = this.b;
    const fields: FieldRange[] = [];
    const seen = new Set<string>();
    this.i++;
    this.ws();
    if (b[this.i] === CLOSE_OBJECT) {
      this.i++;
      return NO_FIELDS;
    }
    for (;;) {
      this.ws();
      if (b[this.i] !== QUOTE) this.fail(`expected a key at byte ${this.i}`);
      const keyStart = this.i;
      const key = this.key();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key.slice(0, 100))} at byte ${keyStart}`);
      seen.add(key);
      this.ws();
      if (b[this.i] !== COLON) this.fail(`expected ":" at byte ${this.i}`);
      this.i++;
      this.ws();
      const valueStart = this.i;
      if (!child?.(key, depth + 1)) this.value(depth + 1);
      fields.push({ key, valueStart, valueEnd: this.i });
      if (++this.ranges > this.limits.fields)
        this.refuse(
          `document has more than ${this.limits.fields} fields at the levels indexed (not handled safely)`,
        );
      this.ws();
      const c = b[this.i++];
      if (c === COMMA) continue;
      if (c === CLOSE_OBJECT) return fields;
      this.fail(`expected "," or "}" at byte ${this.i - 1}`);
    }
  }

  /**
   * Any value whose containers sit at `depth` or below; records nothing. Its object loop repeats
   * `object`'s without the recording: one loop with a `record` flag took 72 ms on a 21 MB
   * document against 52 ms for the two (most of a document is below the indexed levels).
   */
  private value(depth: number): void {
    const b = this.b;
    this.ws();
    const c = b[this.i];
    if (c === QUOTE) {
      this.string();
    } else if (c === OPEN_OBJECT) {
      if (depth > this.maxDepth) this.tooDeep();
      this.i++;
      this.ws();
      if (b[this.i] === CLOSE_OBJECT) {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        if (b[this.i] !== QUOTE) this.fail(`expected a key at byte ${this.i}`);
        this.string();
        this.ws();
        if (b[this.i] !== COLON) this.fail(`expected ":" at byte ${this.i}`);
        this.i++;
        this.value(depth + 1);
        this.ws();
        const next = b[this.i++];
        if (next === COMMA) continue;
        if (next === CLOSE_OBJECT) return;
        this.fail(`expected "," or "}" at byte ${this.i - 1}`);
      }
    } else if (c === OPEN_ARRAY) {
      if (depth > this.maxDepth) this.tooDeep();
      this.i++;
      this.ws();
      if (b[this.i] === CLOSE_ARRAY) {
        this.i++;
        return;
      }
      for (;;) {
        this.value(depth + 1);
        this.ws();
        const next = b[this.i++];
        if (next === COMMA) continue;
        if (next === CLOSE_ARRAY) return;
        this.fail(`expected "," or "]" at byte ${this.i - 1}`);
      }
    } else {
      this.scalar();
    }
  }

  /** A key: scanned as a string, decoded to the text JSON.parse would give. */
  private key(): string {
    const start = this.i;
    const escaped = this.string();
    if (escaped) return JSON.parse(this.b.toString('utf8', start, this.i)) as string;
    return this.keyText(start + 1, this.i - 1);
  }

  /**
   * Short keys repeat (`name`, `dist`, `dependencies` in every version): one decoded string per
   * distinct key, found by a hash of its bytes and checked byte for byte. Decoding each of the
   * ~100,000 keys of a large document was a fifth of the pass. Only ASCII keys are kept, where
   * a byte is a code unit (a stored string compared with another key's bytes could otherwise
   * pass for it), and only so many, so a document of distinct keys cannot grow the map.
   */
  private keyText(start: number, end: number): string {
    const b = this.b;
    const length = end - start;
    if (length > 32) return b.toString('utf8', start, end);
    let hash = length;
    let ascii = true;
    for (let k = start; k < end; k++) {
      const c = b[k]!;
      if (c >= 0x80) ascii = false;
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    if (!ascii) return b.toString('utf8', start, end);
    const known = this.keys.get(hash);
    if (known !== undefined && known.length === length) {
      let same = true;
      for (let k = 0; k < length && same; k++) same = known.charCodeAt(k) === b[start + k];
      if (same) return known;
    }
    const text = b.toString('latin1', start, end);
    if (this.keys.size < MAX_INTERNED_KEYS) this.keys.set(hash, text);
    return text;
  }

  /** A string starting at the quote under the cursor; returns whether it had escapes. */
  private string(): boolean {
    const b = this.b;
    const n = this.n;
    let j = this.i + 1;
    let escaped = false;
    for (;;) {
      if (j >= n) this.fail('unterminated string');
      const c = b[j]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        j += this.escapeLength(j);
        continue;
      }
      if (c < 0x20) this.fail(`control character in a string at byte ${j}`);
      j++;
    }
    this.i = j + 1;
    return escaped;
  }

  /** Length of the escape sequence whose backslash is at `at`; fails on one JSON does not allow. */
  private escapeLength(at: number): number {
    const b = this.b;
    const e = b[at + 1] ?? 0;
    if (SIMPLE_ESCAPES[e] === 1) return 2;
    if (e === 0x75 && HEX[b[at + 2]!] && HEX[b[at + 3]!] && HEX[b[at + 4]!] && HEX[b[at + 5]!]) return 6;
    this.fail(`invalid escape in a string at byte ${at}`);
  }

  /** `true`, `false`, `null` or a number, exactly as JSON spells them. */
  private scalar(): void {
    const b = this.b;
    const c = b[this.i];
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    if (word !== undefined) {
      this.literal(word);
      return;
    }
    let j = this.i;
    if (b[j] === 0x2d) j++;
    if (b[j] === 0x30) j++;
    else if (isDigit(b[j]) && b[j] !== 0x30) while (isDigit(b[j])) j++;
    else this.fail(`unexpected ${describeByte(b[this.i])} at byte ${this.i}`);
    if (b[j] === 0x2e) {
      j++;
      if (!isDigit(b[j])) this.fail(`invalid number at byte ${this.i}`);
      while (isDigit(b[j])) j++;
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      j++;
      if (b[j] === 0x2b || b[j] === 0x2d) j++;
      if (!isDigit(b[j])) this.fail(`invalid number at byte ${this.i}`);
      while (isDigit(b[j])) j++;
    }
    this.i = j;
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.i + k] !== word.charCodeAt(k)) this.fail(`unexpected token at byte ${this.i}`);
    }
    this.i += word.length;
  }

  private ws(): void {
    const b = this.b;
    let j = this.i;
    for (;;) {
      const c = b[j];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) j++;
      else break;
    }
    this.i = j;
  }

  /** JSON.parse refuses a byte order mark (U+FEFF is not JSON whitespace); so does this. */
  private refuseBom(): void {
    if (this.b[0] === 0xef && this.b[1] === 0xbb && this.b[2] === 0xbf)
      this.fail('byte order mark at byte 0');
  }

  private tooDeep(): never {
    this.refuse(`document nested deeper than ${this.maxDepth} levels (not handled safely)`);
  }

  private fail(reason: string): never {
    this.refuse(`invalid JSON: ${reason}`);
  }

  private refuse(reason: string): never {
    throw new InvalidDocument(reason);
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function describeByte(c: number | undefined): string {
  return c === undefined ? 'end of document' : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
