// Two scenarios of `npm run bench:proxy`: 4 MB tarball throughput, then the service's RSS with
// 1,000 packuments cached.
import { CONNECTIONS, load, runConcurrent } from './run-for.mjs';

export async function tarballAndMemory({ pool, child, many, durationMs, log }) {
  let tarball;
  let rss;
  log('\ntarball throughput (4 MB tarball, evaluated, streamed from upstream):');
  {
    const r = await load(pool, {
      path: '/bench/big-tarball/-/big-tarball-1.0.0.tgz',
      headers: {},
      durationMs,
      countBytes: true,
    });
    tarball = { ...r, mbPerSec: r.bytes / 1024 / 1024 / r.seconds };
    log(
      `  ${fmt(r.rps)} req/s, ${(r.bytes / 1024 / 1024 / r.seconds).toFixed(0)} MB/s, p99 ${r.p99.toFixed(1)} ms`,
    );
  }

  log('\nmemory with 1,000 packuments cached (20 KB each, 10 versions):');
  {
    const before = await child.rss();
    await runConcurrent(
      many.map((p) => p.name),
      CONNECTIONS,
      async (name) => {
        const res = await pool.request({
          path: `/bench/${name}`,
          method: 'GET',
          headers: { accept: 'application/vnd.npm.install-v1+json' },
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`${name}: HTTP ${res.statusCode}`);
      },
    );
    const after = await child.rss();
    rss = {
      beforeBytes: before.rss,
      afterBytes: after.rss,
      cachedEntries: after.cache.entries,
      cachedBytes: after.cache.bytes,
    };
    log(
      `  RSS ${mb(before.rss)} before, ${mb(after.rss)} with ${after.cache.entries} packages cached (${mb(after.cache.bytes)} accounted in the document cache)`,
    );
  }
  return { tarball, rss };
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}
function mb(n) {
  return `${(n / 1024 / 1024).toFixed(0)} MB`;
}
