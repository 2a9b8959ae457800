// The wider list of established names (data/known-packages.json, written by
// scripts/generate-popular-list.mjs): about 180,000 names, sorted, in shards of 2,000 that are
// each Brotli-compressed and base64-encoded. A JSON import travels like the popular list (esbuild
// inlines it into the Action bundle) and adds about 1.3 MB instead of 3.8 MB; a lookup decodes
// only the shard its name falls in, about a millisecond, and only a name that looks like a
// popular one asks.
import { brotliDecompressSync } from 'node:zlib';
import data from '../../data/known-packages.json' with { type: 'json' };
import { createKnownNames, type KnownNames } from '../policy/known-names.js';

let cached: KnownNames | undefined;

/** The shipped list of established names, checked once per process. */
export function readKnownNames(): KnownNames {
  cached ??= parseKnownPackages(data, 'data/known-packages.json');
  return cached;
}

/**
 * Reads the `{encoding: 'brotli-base64-shards', count, shards: [[firstName, base64], ...]}`
 * format; throws naming the origin. The shards' first names are checked here, each shard's
 * content when it is first decoded (a shard that does not decode, or holds names outside its
 * range, throws then rather than answering "unknown").
 */
export function parseKnownPackages(raw: unknown, origin: string): KnownNames {
  const fail = (why: string): never => {
    throw new Error(`${origin}: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not a JSON object');
  const { encoding, shards, count } = raw as { encoding?: unknown; shards?: unknown; count?: unknown };
  if (encoding !== 'brotli-base64-shards') {
    return fail(`"encoding" is ${JSON.stringify(encoding)}, not "brotli-base64-shards"`);
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    return fail('"count" is not a count');
  if (!Array.isArray(shards)) return fail('"shards" is not an array');
  const firsts: string[] = [];
  const packed: string[] = [];
  shards.forEach((shard: unknown, i) => {
    if (!Array.isArray(shard) || typeof shard[0] !== 'string' || typeof shard[1] !== 'string') {
      fail(`shards[${i}] is not a [firstName, base64] pair`);
    }
    const [first, body] = shard as [string, string];
    if (i > 0 && !(firsts[i - 1]! < first)) fail(`shards[${i}] starts before shards[${i - 1}]`);
    firsts.push(first);
    packed.push(body);
  });
  const decoded: (KnownNames | undefined)[] = [];
  const shardAt = (i: number): KnownNames => {
    let names = decoded[i];
    if (!names) {
      let text: string;
      try {
        // Package names are ASCII: latin1 decodes them like UTF-8, and faster.
        text = brotliDecompressSync(Buffer.from(packed[i]!, 'base64')).toString('latin1');
      } catch (err) {
        return fail(`shards[${i}] does not decode (${err instanceof Error ? err.message : String(err)})`);
      }
      const next = firsts[i + 1];
      const last = text.slice(text.lastIndexOf('\n') + 1);
      if (!text.startsWith(`${firsts[i]}\n`) && text !== firsts[i])
        fail(`shards[${i}] does not start with its first name`);
      if (next !== undefined && !(last < next)) fail(`shards[${i}] runs past shards[${i + 1}]`);
      names = createKnownNames(text);
      decoded[i] = names;
    }
    return names;
  };
  return {
    size: count,
    has(name: string): boolean {
      // The last shard whose first name is <= name.
      let low = 0;
      let high = firsts.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (firsts[mid]! <= name) low = mid + 1;
        else high = mid;
      }
      return low > 0 && shardAt(low - 1).has(name);
    },
  };
}
