// Registry documents are untrusted input. The maps lockwarden indexes by version or tag are
// rebuilt with a null prototype, so a version named `__proto__` or `constructor` is just a key,
// and a lookup of a missing version can never find something on Object.prototype.
import type { Manifest, Packument } from './types.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Documents nested deeper than this are refused when the caller asks (the proxy): serializing one
 * overflows the stack. Real registry documents nest about ten levels.
 */
export const MAX_DOCUMENT_DEPTH = 200;

export function parsePackument(
  body: Buffer | string,
  requestedName: string,
  /** Refuse documents nested deeper than this; unchecked when omitted (nothing re-serializes them). */
  maxDepth?: number,
): ParseResult<Packument> {
  const parsed = parseJsonObject(body);
  if (parsed.ok && maxDepth !== undefined && nestedDeeperThan(parsed.value, maxDepth)) {
    return { ok: false, reason: `document nested deeper than ${maxDepth} levels (not handled safely)` };
  }
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

/** Whether any object or array in `value` sits more than `limit` levels down. Recursion stops at `limit`. */
function nestedDeeperThan(value: unknown, limit: number, depth = 1): boolean {
  if (depth > limit) return true;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object' && nestedDeeperThan(item, limit, depth + 1)) return true;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key in value) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object' && nestedDeeperThan(item, limit, depth + 1)) return true;
    }
  }
  return false;
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
