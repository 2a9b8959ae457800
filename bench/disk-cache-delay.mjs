// The disk-cache scenario of `npm run bench:proxy`: the event-loop delay of this process while the
// disk cache stores and reads back 8 MB documents.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './median.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DISK_CACHE_ROUNDS = 5;

/**
 * The disk cache alone, as the proxy drives it while cold 8 MB documents arrive: each is stored,
 * then read back, one after another, while a 1 ms timer measures how late the event loop runs.
 * Synchronous I/O for every size (the cache before issue 9), the thread pool with each CRC in one
 * call (before the CRCs were sliced), and now, in the same run.
 */
export async function diskCacheDelay(log) {
  const { createDiskCache, flushDiskCaches } = await import(
    pathToFileURL(join(root, 'lib/src/sources/disk-cache.js')).href
  );
  const out = {};
  const doc = Buffer.alloc(8 * 1024 * 1024, '{"versions":{}}');
  // Distinct bodies (every write stores 8 MB), made before the clock starts: copying 8 MB is the
  // benchmark's own work, not the cache's.
  const bodies = Array.from({ length: 24 }, (_, i) => {
    const body = Buffer.from(doc);
    body.writeUInt32LE(i, 0);
    return body;
  });
  const variants = [
    ['synchronous', { syncIoMaxBytes: Number.POSITIVE_INFINITY }],
    ['thread pool, whole CRCs', { crcSliceBytes: Number.POSITIVE_INFINITY }],
    ['thread pool (now)', {}],
    // The same timer with no cache work for as long: the delay the shared machine alone causes.
    ['no cache work (floor)', undefined],
  ];
  const samples = Object.fromEntries(variants.map(([label]) => [label, []]));
  // Rounds in rotating order, so every variant meets the machine's load of the moment.
  for (let round = 0; round < DISK_CACHE_ROUNDS; round++) {
    for (let v = 0; v < variants.length; v++) {
      const [label, options] = variants[(v + round) % variants.length];
      const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-cache-'));
      try {
        const delay = monitorEventLoopDelay({ resolution: 1 });
        const tick = setInterval(() => {}, 1);
        delay.enable();
        const started = performance.now();
        const elu = performance.eventLoopUtilization();
        if (options === undefined) await new Promise((r) => setTimeout(r, 700));
        else {
          const cache = createDiskCache(dir, options);
          for (const [i, body] of bodies.entries()) {
            await cache.write('bench', `doc-${i}`, { body, fetchedAtMs: Date.now() });
            const back = await cache.read('bench', `doc-${i}`);
            if (back?.body.length !== body.length || back.body.readUInt32LE(0) !== i)
              throw new Error('disk cache bench: read back a different body');
            // A service turns its event loop between requests; without this the synchronous variant
            // would hold it for the whole run and the timer would never get to record a delay.
            await new Promise((r) => setImmediate(r));
          }
        }
        const ms = performance.now() - started;
        const busy = performance.eventLoopUtilization(elu).utilization;
        delay.disable();
        clearInterval(tick);
        await flushDiskCaches();
        samples[label].push({ p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6, totalMs: ms, busy });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  log(
    `  ${DISK_CACHE_ROUNDS} rounds each, rotating order; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const [label] of variants) {
    const runs = samples[label];
    const p99s = runs.map((r) => r.p99Ms);
    out[label] = { p99Ms: median(p99s), maxMs: median(runs.map((r) => r.maxMs)), runs };
    log(
      `  ${label.padEnd(24)} p99 median ${median(p99s).toFixed(1)} ms (${p99s.map((p) => p.toFixed(1)).join(', ')}), max median ${median(runs.map((r) => r.maxMs)).toFixed(1)} ms, loop busy ${(median(runs.map((r) => r.busy)) * 100).toFixed(0)}%; one round of 24 × (write + read) in ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms`,
    );
  }
  return out;
}
