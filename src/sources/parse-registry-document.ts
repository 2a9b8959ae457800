// Registry documents are untrusted input. The maps lockwarden indexes by version or tag are
// rebuilt with a null prototype, so a version named `__proto__` or `constructor` is just a key,
// and a lookup of a missing version can never find something on Object.prototype.
import { indexPackument, type PackumentIndex } from './index-packument.js';
import type { Manifest, Packument } from './types.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Documents nested deeper than this are refused when the caller asks (the proxy, which indexes
 * them): a manifest that deep would overflow the stack wherever it is parsed and re-serialized.
 * Real registry documents nest about ten levels.
 */
export const MAX_DOCUMENT_DEPTH = 200;

/** Where an indexed packument keeps the upstream's bytes and their index (not enumerable). */
const PACKUMENT_INDEX = Symbol('lockwarden.packumentIndex');

/** The upstream bytes behind a packument read with `maxDepth` (the proxy's), for serving slices of them. */
export function packumentIndexOf(packument: Packument): PackumentIndex | undefined {
  return (packument as unknown as Record<symbol, PackumentIndex | undefined>)[PACKUMENT_INDEX];
}

const versionRanges = new WeakMap<PackumentIndex, Map<string, PackumentIndex['versions'][number]>>();

/**
 * One top-level field of a version's manifest. From an indexed document only that field's bytes
 * are parsed: a guardrail reading one field of every version (the repository, for tag checks)
 * must not parse and keep every manifest.
 */
export function manifestField(packument: Packument, version: string, field: string): unknown {
  const index = packumentIndexOf(packument);
  if (!index)
    return Object.hasOwn(packument.versions, version) ? packument.versions[version]?.[field] : undefined;
  let byKey = versionRanges.get(index);
  if (!byKey) {
    byKey = new Map(index.versions.map((entry) => [entry.key, entry]));
    versionRanges.set(index, byKey);
  }
  const range = byKey.get(version)?.fields?.find((f) => f.key === field);
  return range ? JSON.parse(index.bytes.toString('utf8', range.valueStart, range.valueEnd)) : undefined;
}

export function parsePackument(
  body: Buffer | string,
  requestedName: string,
  /**
   * Given (the proxy): the document is indexed, not parsed whole (index-packument.ts), documents
   * nested deeper than this are refused, and each version's manifest is parsed when first read.
   */
  maxDepth?: number,
): ParseResult<Packument> {
  if (maxDepth !== undefined) return parseIndexedPackument(body, requestedName, maxDepth);
  const parsed = parseJsonObject(body);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const versionsRaw = doc.versions;
  if (versionsRaw !== undefined && !isPlainObject(versionsRaw)) {
    return { ok: false, reason: 'document has a "versions" field that is not an object' };
  }
  const versions = Object.create(null) as Record<string, Manifest>;
  if (versionsRaw) {
    for (const key of Object.keys(versionsRaw)) {
      const manifest = versionsRaw[key];
      // A version entry that is not an object carries nothing usable; it is dropped, not trusted.
      if (isPlainObject(manifest)) versions[key] = manifest as Manifest;
    }
  }
  return normalizePackument(doc, versions, requestedName);
}

/**
 * Every top-level field but `versions` parsed; each version a getter that parses its slice once,
 * when something reads it (the policy reads keys, `time` and `dist-tags`; the proxy reads the
 * manifests of the few versions it prefetches from or serves alone).
 */
function parseIndexedPackument(
  body: Buffer | string,
  requestedName: string,
  maxDepth: number,
): ParseResult<Packument> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const indexed = indexPackument(bytes, maxDepth);
  if (!indexed.ok) return indexed;
  const { index } = indexed;
  const doc: Record<string, unknown> = {};
  for (const field of index.fields) {
    if (field.key === 'versions') {
      if (bytes[field.valueStart] !== 0x7b)
        return { ok: false, reason: 'document has a "versions" field that is not an object' };
      continue;
    }
    defineField(doc, field.key, JSON.parse(bytes.toString('utf8', field.valueStart, field.valueEnd)));
  }
  const versions = Object.create(null) as Record<string, Manifest>;
  for (const entry of index.versions) {
    // A version entry that is not an object carries nothing usable; it is dropped, not trusted.
    if (entry.fields === null) continue;
    let manifest: Manifest | undefined;
    Object.defineProperty(versions, entry.key, {
      enumerable: true,
      configurable: true,
      get: () => {
        // The index accepted exactly JSON, so the slice parses.
        manifest ??= JSON.parse(bytes.toString('utf8', entry.valueStart, entry.valueEnd)) as Manifest;
        return manifest;
      },
    });
  }
  const result = normalizePackument(doc, versions, requestedName);
  if (result.ok) Object.defineProperty(result.value, PACKUMENT_INDEX, { value: index });
  return result;
}

/** An own data property whatever the key, as JSON.parse makes one of `__proto__`. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function normalizePackument(
  doc: Record<string, unknown>,
  versions: Record<string, Manifest>,
  requestedName: string,
): ParseResult<Packument> {
  const packument = doc as Packument;
  packument.name = typeof doc.name === 'string' ? doc.name : requestedName;
  packument.versions = versions;
  const distTags = toStringMap(doc['dist-tags']);
  if (distTags) packument['dist-tags'] = distTags;
  else delete packument['dist-tags'];
  const time = toStringMap(doc.time);
  if (time) packument.time = time;
  else delete packument.time;
  if (doc.modified !== undefined && typeof doc.modified !== 'string') delete packument.modified;
  return { ok: true, value: packument };
}

export function parseManifest(body: Buffer | string): ParseResult<Manifest> {
  const parsed = parseJsonObject(body);
  if (!parsed.ok) return parsed;
  const manifest = parsed.value as Manifest;
  if (manifest.dist !== undefined && !isPlainObject(manifest.dist)) delete manifest.dist;
  return { ok: true, value: manifest };
}

function parseJsonObject(body: Buffer | string): ParseResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid JSON' };
  }
  if (!isPlainObject(value)) return { ok: false, reason: 'document is not a JSON object' };
  return { ok: true, value };
}

/** A null-prototype copy keeping only string values, or undefined when `value` is not an object. */
function toStringMap(value: unknown): Record<string, string> | undefined {
  if (!isPlainObject(value)) return undefined;
  const out = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
