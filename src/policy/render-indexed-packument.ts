// The served form of an indexed packument (src/sources/index-packument.ts), spliced from the
// upstream's bytes: what filterPackument and abbreviatePackument decide, without parsing and
// re-serializing every manifest. A kept version's bytes pass through as the upstream wrote them,
// but for its `dist` (tarball and attestation URLs rewritten); the fields the filter recomputes
// (`versions`, `time`, `dist-tags`, `modified`, `_rev`, `name`) are written from the filtered
// document. The result parses to the same value as JSON.stringify of the filtered (and
// abbreviated) document; test/unit/render-indexed-packument.test.ts holds the two side by side.
import type { FieldRange, PackumentIndex, VersionRange } from '../sources/index-packument.js';
import type { Manifest, Packument } from '../sources/types.js';
import {
  ABBREVIATED_VERSION_FIELDS,
  abbreviatePackument,
  hasInstallScripts,
} from './abbreviate-packument.js';
import { type FilterPackumentOptions, rewriteDist } from './filter-packument.js';

export interface RenderOptions extends Omit<FilterPackumentOptions, 'keep'> {
  abbreviated: boolean;
}

/** Top-level fields whose served value may differ from the upstream's (parse-registry-document, filterPackument). */
const RECOMPUTED = new Set(['name', 'versions', 'dist-tags', 'time', 'modified', '_rev']);
const ABBREVIATED_SLOT = new Map<string, number>(ABBREVIATED_VERSION_FIELDS.map((field, i) => [field, i]));
const OPEN_OBJECT = 0x7b;

/**
 * `filtered` is filterPackument's document for `index` without URL rewrites: its `versions` holds
 * the kept versions, its other fields what is served.
 */
export function renderIndexedPackument(
  index: PackumentIndex,
  filtered: Packument,
  options: RenderOptions,
): Buffer {
  const out = new Pieces();
  const writer: VersionWriter = { out, index, name: filtered.name, options };
  const kept = filtered.versions;
  const writeVersions = (): void => {
    out.text('{');
    let first = true;
    for (const entry of index.versions) {
      if (entry.fields === null || !Object.hasOwn(kept, entry.key)) continue;
      if (!first) out.text(',');
      first = false;
      out.text(JSON.stringify(entry.key));
      out.text(':');
      if (options.abbreviated) writeAbbreviatedVersion(writer, entry);
      else writeVersion(writer, entry);
    }
    out.text('}');
  };

  if (options.abbreviated) {
    // abbreviatePackument decides the top level (name, dist-tags, modified); the versions are ours.
    const shell = Object.assign(Object.create(null) as Packument, filtered, {
      versions: Object.create(null) as Record<string, Manifest>,
    });
    const top = abbreviatePackument(shell) as unknown as Record<string, unknown>;
    writeObject(out, Object.keys(top), (key) => {
      if (key === 'versions') writeVersions();
      else out.text(JSON.stringify(top[key]));
    });
    return out.done();
  }

  const served = filtered as unknown as Record<string, unknown>;
  const keys: string[] = [];
  for (const field of index.fields) {
    // A recomputed field the filtered document lacks was dropped as unusable (a `time` that is
    // not an object); every other field passes through.
    if (!RECOMPUTED.has(field.key) || Object.hasOwn(served, field.key)) keys.push(field.key);
  }
  // A recomputed field the upstream lacked (`name`, `versions`) is added, as the parse added it.
  for (const key of RECOMPUTED) {
    if (Object.hasOwn(served, key) && !index.fields.some((f) => f.key === key)) keys.push(key);
  }
  const rawField = new Map(index.fields.map((f) => [f.key, f]));
  writeObject(out, keys, (key) => {
    if (key === 'versions') writeVersions();
    else if (RECOMPUTED.has(key)) out.text(JSON.stringify(served[key]));
    else {
      const field = rawField.get(key)!;
      out.raw(index.bytes.subarray(field.valueStart, field.valueEnd));
    }
  });
  return out.done();
}

function writeObject(out: Pieces, keys: readonly string[], writeValue: (key: string) => void): void {
  out.text('{');
  keys.forEach((key, i) => {
    if (i > 0) out.text(',');
    out.text(JSON.stringify(key));
    out.text(':');
    writeValue(key);
  });
  out.text('}');
}

/** What writing one version needs: the output, the upstream's index, the package and the rewrites. */
interface VersionWriter {
  out: Pieces;
  index: PackumentIndex;
  name: string;
  options: RenderOptions;
}

/** A kept version as the upstream wrote it, but for its `dist`. */
function writeVersion(writer: VersionWriter, entry: VersionRange): void {
  const { out, index } = writer;
  const bytes = index.bytes;
  const dist = entry.fields!.find((f) => f.key === 'dist');
  const rewritten = dist ? rewrittenDist(writer, entry.key, dist) : undefined;
  if (!dist || rewritten === undefined) {
    out.raw(bytes.subarray(entry.valueStart, entry.valueEnd));
    return;
  }
  out.raw(bytes.subarray(entry.valueStart, dist.valueStart));
  out.text(rewritten);
  out.raw(bytes.subarray(dist.valueEnd, entry.valueEnd));
}

/** A kept version with the fields an installer reads, in abbreviatePackument's order. */
function writeAbbreviatedVersion(writer: VersionWriter, entry: VersionRange): void {
  const { out, index } = writer;
  const bytes = index.bytes;
  const slots: (FieldRange | undefined)[] = [];
  let scripts: FieldRange | undefined;
  for (const field of entry.fields!) {
    const slot = ABBREVIATED_SLOT.get(field.key);
    if (slot !== undefined) slots[slot] = field;
    else if (field.key === 'scripts') scripts = field;
  }
  out.text('{');
  let first = true;
  ABBREVIATED_VERSION_FIELDS.forEach((key, slot) => {
    const field = slots[slot];
    if (field === undefined) return;
    if (!first) out.text(',');
    first = false;
    out.text(JSON.stringify(key));
    out.text(':');
    const rewritten = key === 'dist' ? rewrittenDist(writer, entry.key, field) : undefined;
    if (rewritten !== undefined) out.text(rewritten);
    else out.raw(bytes.subarray(field.valueStart, field.valueEnd));
  });
  const flagged = slots[ABBREVIATED_SLOT.get('hasInstallScript')!] !== undefined;
  if (!flagged && scripts && hasInstallScripts(parseRange(index, scripts))) {
    out.text(first ? '"hasInstallScript":true' : ',"hasInstallScript":true');
  }
  out.text('}');
}

/** The serialized `dist` with URLs rewritten, or undefined when it passes through unchanged. */
function rewrittenDist(
  { index, name, options }: VersionWriter,
  version: string,
  dist: FieldRange,
): string | undefined {
  if (!options.rewriteTarball && !options.rewriteAttestations) return undefined;
  if (index.bytes[dist.valueStart] !== OPEN_OBJECT) return undefined;
  const value = parseRange(index, dist) as Record<string, unknown>;
  return JSON.stringify(rewriteDist(name, version, value, options));
}

function parseRange(index: PackumentIndex, range: FieldRange): unknown {
  return JSON.parse(index.bytes.toString('utf8', range.valueStart, range.valueEnd));
}

/** Output as slices of the upstream's bytes and text written between them, joined once. */
class Pieces {
  private readonly parts: Buffer[] = [];
  private pending = '';

  text(text: string): void {
    this.pending += text;
  }

  raw(bytes: Buffer): void {
    this.flush();
    this.parts.push(bytes);
  }

  done(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }

  private flush(): void {
    if (this.pending === '') return;
    this.parts.push(Buffer.from(this.pending));
    this.pending = '';
  }
}
