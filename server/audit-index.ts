// The embedded audit log's index: one row of typed-array columns per committed entry (about 50
// bytes, so a million entries take about 50 MB instead of the entries themselves) and a posting
// list of rows per policy, package, label, rule, outcome and source. A query walks the shortest
// posting list of its filters from the newest row and checks the rest against the columns; the
// matching entries are then read from their segment files by offset. Rows are in id order.
//
// Rows are numbered for good (row n stays row n), so retention dropping the oldest segment only
// moves the start of the columns and of each posting list: no renumbering, no rebuild. Before,
// dropping a segment rebuilt the whole index, a 0.7–1.2 s stall of the event loop at 100,000
// entries, once per dropped segment (every 2 s at 5,000 entries/s). Dropped space is reclaimed
// by one copy when it exceeds what is kept, so the cost per dropped row stays constant. Row
// numbers are 32-bit in the posting lists and restart at 0 at each start: 4 billion entries per
// run, 27 years at 5,000 entries/s.
import type { AuditEntry, AuditQuery } from './audit-log.js';

/** Where an entry's line is: segment (by first id), byte offset and length. */
export interface EntryLocation {
  segment: number;
  offset: number;
  length: number;
}

export const INDEX_FIELDS = ['policy', 'package', 'label', 'rule', 'outcome', 'source'] as const;
export type IndexField = (typeof INDEX_FIELDS)[number];
const FIELDS = INDEX_FIELDS;
type Field = IndexField;

/**
 * The rows of one segment in a form that needs no strings per row: columns, and per field the
 * segment's own table of values (code n is `tables[field][n - 1]`, 0 is null). What an index
 * snapshot file holds (audit-index-snapshot.ts).
 */
export interface SegmentRows {
  ids: Float64Array;
  times: Float64Array;
  offsets: Float64Array;
  lengths: Uint32Array;
  codes: Record<Field, Uint32Array>;
  tables: Record<Field, string[]>;
}

/** Row numbers, ascending; rows below `start` were dropped. */
class Rows {
  data: Uint32Array = new Uint32Array(16);
  start = 0;
  end = 0;
  get count(): number {
    return this.end - this.start;
  }
  push(row: number): void {
    if (this.end === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.end++] = row;
  }
  /** Forgets the rows below `row`. */
  dropBelow(row: number): void {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid]! < row) lo = mid + 1;
      else hi = mid;
    }
    this.start = lo;
    if (this.start > this.count) {
      this.data.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
  }
}

function grow<T extends Float64Array | Uint32Array>(array: T, need: number): T {
  if (need <= array.length) return array;
  const grown = new (array.constructor as new (n: number) => T)(Math.max(need, array.length * 2));
  grown.set(array);
  return grown;
}

const byField = <T>(make: () => T): Record<Field, T> => ({
  policy: make(),
  package: make(),
  label: make(),
  rule: make(),
  outcome: make(),
  source: make(),
});

export class AuditIndex {
  /** Row number of column slot 0, of the oldest kept row, and of the next row. */
  #base = 0;
  #live = 0;
  #end = 0;
  #ids = new Float64Array(1024);
  #times = new Float64Array(1024);
  #segments = new Float64Array(1024);
  #offsets = new Float64Array(1024);
  #lengths = new Uint32Array(1024);
  /** Per field, the interned value of each row (0: null). */
  #codes: Record<Field, Uint32Array> = byField(() => new Uint32Array(1024));
  /** Per field, value -> code, code -> value, code -> the rows that have it; codes are never reused. */
  #values: Record<Field, Map<string, number>> = byField(() => new Map());
  #names: Record<Field, Array<string | undefined>> = byField(() => [undefined]);
  #postings: Record<Field, Array<Rows | undefined>> = byField(() => [undefined]);

  get size(): number {
    return this.#end - this.#live;
  }

  lastId(): number {
    return this.size === 0 ? 0 : this.#ids[this.#end - 1 - this.#base]!;
  }

  firstTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.#times[this.#live - this.#base]!;
  }

  /** Makes room for `more` rows; returns the slot of the next one. */
  #reserve(more: number): number {
    const need = this.#end - this.#base + more;
    if (need > this.#ids.length) {
      this.#ids = grow(this.#ids, need);
      this.#times = grow(this.#times, need);
      this.#segments = grow(this.#segments, need);
      this.#offsets = grow(this.#offsets, need);
      this.#lengths = grow(this.#lengths, need);
      for (const f of FIELDS) this.#codes[f] = grow(this.#codes[f], need);
    }
    return this.#end - this.#base;
  }

  #intern(f: Field, value: string): number {
    let code = this.#values[f].get(value);
    if (code === undefined) {
      code = this.#names[f].length;
      this.#values[f].set(value, code);
      this.#names[f].push(value);
      this.#postings[f].push(new Rows());
    }
    return code;
  }

  /** `timeMs`: the entry's time, when the caller has it parsed already. */
  add(entry: AuditEntry, at: EntryLocation, timeMs = Date.parse(entry.time)): void {
    const slot = this.#reserve(1);
    const row = this.#end++;
    this.#ids[slot] = entry.id;
    this.#times[slot] = timeMs;
    this.#segments[slot] = at.segment;
    this.#offsets[slot] = at.offset;
    this.#lengths[slot] = at.length;
    for (const f of FIELDS) {
      const value = entry[f];
      const code = value === null ? 0 : this.#intern(f, value);
      this.#codes[f][slot] = code;
      if (code !== 0) this.#postings[f][code]!.push(row);
    }
  }

  /** Adds the rows of one segment, read from its snapshot (already checked to be in id order). */
  addSegment(segment: number, rows: SegmentRows): void {
    const n = rows.ids.length;
    const first = this.#reserve(n);
    const row0 = this.#end;
    this.#ids.set(rows.ids, first);
    this.#times.set(rows.times, first);
    this.#segments.fill(segment, first, first + n);
    this.#offsets.set(rows.offsets, first);
    this.#lengths.set(rows.lengths, first);
    for (const f of FIELDS) {
      const global = rows.tables[f].map((value) => this.#intern(f, value));
      const local = rows.codes[f];
      const codes = this.#codes[f];
      const postings = this.#postings[f];
      for (let i = 0; i < n; i++) {
        const l = local[i]!;
        const code = l === 0 ? 0 : global[l - 1]!;
        codes[first + i] = code;
        if (code !== 0) postings[code]!.push(row0 + i);
      }
    }
    this.#end += n;
  }

  /** The rows of `segment` (its own value tables), for its snapshot. */
  segmentRows(segment: number): SegmentRows {
    const from = this.#firstRowOf(segment) - this.#base;
    let to = from;
    while (to < this.#end - this.#base && this.#segments[to] === segment) to++;
    const codes = {} as Record<Field, Uint32Array>;
    const tables = {} as Record<Field, string[]>;
    for (const f of FIELDS) {
      // Global code -> local code (0: not seen yet); a typed array, not a Map: this runs per row.
      const local = new Uint32Array(this.#names[f].length);
      const table: string[] = [];
      const out = new Uint32Array(to - from);
      const global = this.#codes[f];
      for (let i = from; i < to; i++) {
        const g = global[i]!;
        if (g === 0) continue;
        let l = local[g]!;
        if (l === 0) {
          table.push(this.#names[f][g]!);
          l = table.length;
          local[g] = l;
        }
        out[i - from] = l;
      }
      codes[f] = out;
      tables[f] = table;
    }
    return {
      ids: this.#ids.slice(from, to),
      times: this.#times.slice(from, to),
      offsets: this.#offsets.slice(from, to),
      lengths: this.#lengths.slice(from, to),
      codes,
      tables,
    };
  }

  /** Row number of the first kept row in `segment` or a later one (binary search). */
  #firstRowOf(segment: number): number {
    let lo = this.#live;
    let hi = this.#end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#segments[mid - this.#base]! < segment) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Kept rows of the entries in segments before `segment`, which retention drops. */
  rowsBefore(segment: number): number {
    return this.#firstRowOf(segment) - this.#live;
  }

  /** Forgets the oldest `rows` rows (whole segments dropped by retention). */
  dropFirst(rows: number): void {
    if (rows <= 0) return;
    this.#live = Math.min(this.#end, this.#live + rows);
    for (const f of FIELDS) {
      const postings = this.#postings[f];
      for (let code = 1; code < postings.length; code++) {
        const list = postings[code];
        if (!list) continue;
        list.dropBelow(this.#live);
        if (list.count === 0) {
          // No kept entry has this value any more: forget it, so distinct values do not pile up.
          postings[code] = undefined;
          this.#values[f].delete(this.#names[f][code]!);
          this.#names[f][code] = undefined;
        }
      }
    }
    const dropped = this.#live - this.#base;
    if (dropped > this.#end - this.#live) {
      const to = this.#end - this.#base;
      for (const column of [this.#ids, this.#times, this.#segments, this.#offsets, this.#lengths])
        column.copyWithin(0, dropped, to);
      for (const f of FIELDS) this.#codes[f].copyWithin(0, dropped, to);
      this.#base = this.#live;
    }
  }

  /**
   * The locations of up to `limit` matching entries, newest first, and whether more match.
   * `notBefore` (ms) hides entries that retention by age has expired but not yet dropped.
   */
  query(q: AuditQuery, limit: number, notBefore: number): { found: EntryLocation[]; more: boolean } {
    // The shortest posting list among the equality filters; every kept row when there is none.
    let candidates: Rows | null = null;
    const wanted: Array<[Field, number]> = [];
    for (const f of FIELDS) {
      const value = q[f];
      if (value === undefined) continue;
      const code = this.#values[f].get(value);
      if (code === undefined) return { found: [], more: false };
      wanted.push([f, code]);
      const rows = this.#postings[f][code]!;
      if (candidates === null || rows.count < candidates.count) candidates = rows;
    }
    const base = this.#base;
    const since = Math.max(q.since?.getTime() ?? Number.NEGATIVE_INFINITY, notBefore);
    const until = q.until?.getTime() ?? Number.POSITIVE_INFINITY;
    const found: EntryLocation[] = [];
    // Positions: into candidates.data, or row numbers when there is no filter.
    const low = candidates ? candidates.start : this.#live;
    const rowAt = (i: number) => (candidates ? candidates.data[i]! : i);
    let i = (candidates ? candidates.end : this.#end) - 1;
    if (q.cursor !== undefined) {
      // Rows are in id order: start at the newest row below the cursor.
      let lo = low;
      let hi = i + 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#ids[rowAt(mid) - base]! < q.cursor) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    for (; i >= low; i--) {
      const slot = rowAt(i) - base;
      let match = true;
      for (const [f, code] of wanted) {
        if (this.#codes[f][slot] !== code) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      const t = this.#times[slot]!;
      if (t > until || t < since) continue;
      if (found.length === limit) return { found, more: true };
      found.push({
        segment: this.#segments[slot]!,
        offset: this.#offsets[slot]!,
        length: this.#lengths[slot]!,
      });
    }
    return { found, more: false };
  }
}
