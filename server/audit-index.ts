// The embedded audit log's index: one row of typed-array columns per committed entry (about 50
// bytes, so a million entries take about 50 MB instead of the entries themselves) and a posting
// list of rows per policy, package, label, rule, outcome and source. A query walks the shortest
// posting list of its filters from the newest row and checks the rest against the columns; the
// matching entries are then read from their segment files by offset. Rows are in id order.
import type { AuditEntry, AuditQuery } from './audit-log.js';

/** Where an entry's line is: segment (by first id), byte offset and length. */
export interface EntryLocation {
  segment: number;
  offset: number;
  length: number;
}

const FIELDS = ['policy', 'package', 'label', 'rule', 'outcome', 'source'] as const;
type Field = (typeof FIELDS)[number];

class Rows {
  data: Uint32Array = new Uint32Array(1024);
  length = 0;
  push(row: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = row;
  }
}

function grow<T extends Float64Array | Uint32Array>(array: T, need: number): T {
  if (need <= array.length) return array;
  const grown = new (array.constructor as new (n: number) => T)(Math.max(need, array.length * 2));
  grown.set(array);
  return grown;
}

export class AuditIndex {
  #size = 0;
  #ids = new Float64Array(1024);
  #times = new Float64Array(1024);
  #segments = new Float64Array(1024);
  #offsets = new Float64Array(1024);
  #lengths = new Uint32Array(1024);
  /** Per field, the interned value of each row (0: null). */
  #codes: Record<Field, Uint32Array> = {
    policy: new Uint32Array(1024),
    package: new Uint32Array(1024),
    label: new Uint32Array(1024),
    rule: new Uint32Array(1024),
    outcome: new Uint32Array(1024),
    source: new Uint32Array(1024),
  };
  /** Per field, value -> code, and code -> the rows that have it. */
  #values: Record<Field, Map<string, number>> = {
    policy: new Map(),
    package: new Map(),
    label: new Map(),
    rule: new Map(),
    outcome: new Map(),
    source: new Map(),
  };
  #postings: Record<Field, Rows[]> = {
    policy: [],
    package: [],
    label: [],
    rule: [],
    outcome: [],
    source: [],
  };

  get size(): number {
    return this.#size;
  }

  lastId(): number {
    return this.#size === 0 ? 0 : this.#ids[this.#size - 1]!;
  }

  firstTime(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!;
  }

  add(entry: AuditEntry, at: EntryLocation): void {
    const row = this.#size++;
    if (row === this.#ids.length) {
      const n = row * 2;
      this.#ids = grow(this.#ids, n);
      this.#times = grow(this.#times, n);
      this.#segments = grow(this.#segments, n);
      this.#offsets = grow(this.#offsets, n);
      this.#lengths = grow(this.#lengths, n);
      for (const f of FIELDS) this.#codes[f] = grow(this.#codes[f], n);
    }
    this.#ids[row] = entry.id;
    this.#times[row] = Date.parse(entry.time);
    this.#segments[row] = at.segment;
    this.#offsets[row] = at.offset;
    this.#lengths[row] = at.length;
    for (const f of FIELDS) {
      const value = entry[f];
      if (value === null) {
        this.#codes[f][row] = 0;
        continue;
      }
      let code = this.#values[f].get(value);
      if (code === undefined) {
        code = this.#values[f].size + 1;
        this.#values[f].set(value, code);
        this.#postings[f][code] = new Rows();
      }
      this.#codes[f][row] = code;
      this.#postings[f][code]!.push(row);
    }
  }

  /** Rows (oldest first) of the entries in segments before `segment`, which retention drops. */
  rowsBefore(segment: number): number {
    let row = 0;
    while (row < this.#size && this.#segments[row]! < segment) row++;
    return row;
  }

  /**
   * Forgets the first `rows` rows (whole segments dropped by retention). The index is rebuilt from
   * its own columns: O(entries), once per dropped segment.
   */
  dropFirst(rows: number): void {
    if (rows <= 0) return;
    const keep = this.#size - rows;
    const old = {
      ids: this.#ids,
      times: this.#times,
      segments: this.#segments,
      offsets: this.#offsets,
      lengths: this.#lengths,
      codes: this.#codes,
      values: this.#values,
    };
    const names = {} as Record<Field, string[]>;
    for (const f of FIELDS) {
      names[f] = [];
      for (const [value, code] of old.values[f]) names[f][code] = value;
    }
    const fresh = new AuditIndex();
    for (let row = rows; row < rows + keep; row++) {
      const entry = {
        id: old.ids[row]!,
        time: new Date(old.times[row]!).toISOString(),
      } as Record<string, unknown>;
      for (const f of FIELDS) {
        const code = old.codes[f][row]!;
        entry[f] = code === 0 ? null : names[f][code]!;
      }
      fresh.add(entry as unknown as AuditEntry, {
        segment: old.segments[row]!,
        offset: old.offsets[row]!,
        length: old.lengths[row]!,
      });
    }
    this.#size = fresh.#size;
    this.#ids = fresh.#ids;
    this.#times = fresh.#times;
    this.#segments = fresh.#segments;
    this.#offsets = fresh.#offsets;
    this.#lengths = fresh.#lengths;
    this.#codes = fresh.#codes;
    this.#values = fresh.#values;
    this.#postings = fresh.#postings;
  }

  /**
   * The locations of up to `limit` matching entries, newest first, and whether more match.
   * `notBefore` (ms) hides entries that retention by age has expired but not yet dropped.
   */
  query(q: AuditQuery, limit: number, notBefore: number): { found: EntryLocation[]; more: boolean } {
    // The shortest posting list among the equality filters; every row when there is none.
    let candidates: Rows | null = null;
    const wanted: Array<[Field, number]> = [];
    for (const f of FIELDS) {
      const value = q[f];
      if (value === undefined) continue;
      const code = this.#values[f].get(value);
      if (code === undefined) return { found: [], more: false };
      wanted.push([f, code]);
      const rows = this.#postings[f][code]!;
      if (candidates === null || rows.length < candidates.length) candidates = rows;
    }
    const since = Math.max(q.since?.getTime() ?? Number.NEGATIVE_INFINITY, notBefore);
    const until = q.until?.getTime() ?? Number.POSITIVE_INFINITY;
    const found: EntryLocation[] = [];
    const count = candidates ? candidates.length : this.#size;
    // Rows are in id order: start at the newest row below the cursor.
    let i = count - 1;
    if (q.cursor !== undefined) {
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const row = candidates ? candidates.data[mid]! : mid;
        if (this.#ids[row]! < q.cursor) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    for (; i >= 0; i--) {
      const row = candidates ? candidates.data[i]! : i;
      let match = true;
      for (const [f, code] of wanted) {
        if (this.#codes[f][row] !== code) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      const t = this.#times[row]!;
      if (t > until || t < since) continue;
      if (found.length === limit) return { found, more: true };
      found.push({ segment: this.#segments[row]!, offset: this.#offsets[row]!, length: this.#lengths[row]! });
    }
    return { found, more: false };
  }
}
