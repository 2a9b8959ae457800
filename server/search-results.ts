// `npm search` results name each package's latest version as the upstream sees it. Under a
// policy that version may be hidden, and the package itself may be refused: results are rewritten
// to the latest version the policy serves, and packages it serves nothing of are left out.
import { mapConcurrent } from '../src/engine/map-concurrent.js';

/** The latest served version of a package (and its publish time), or null when none is served. */
export type ServedLatest = (name: string) => Promise<{ version: string; date?: string } | null>;

const LOOKUP_CONCURRENCY = 8;

/** Returns the rewritten JSON, or undefined when the body is not a search result document. */
export async function filterSearchResults(
  body: Buffer,
  servedLatest: ServedLatest,
): Promise<Buffer | undefined> {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(doc) || !Array.isArray(doc.objects)) return undefined;
  const objects: unknown[] = doc.objects;
  const kept: boolean[] = objects.map(() => false);
  await mapConcurrent(objects, LOOKUP_CONCURRENCY, async (entry, i) => {
    if (!isObject(entry) || !isObject(entry.package) || typeof entry.package.name !== 'string') return;
    const latest = await servedLatest(entry.package.name);
    if (latest === null) return;
    kept[i] = true;
    if (entry.package.version !== latest.version) {
      entry.package.version = latest.version;
      if (latest.date !== undefined) entry.package.date = latest.date;
      else delete entry.package.date;
    }
  });
  const out = objects.filter((_, i) => kept[i]);
  const dropped = objects.length - out.length;
  doc.objects = out;
  if (typeof doc.total === 'number') doc.total = Math.max(0, doc.total - dropped);
  return Buffer.from(JSON.stringify(doc));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
