// The warm-document scenarios of `npm run bench:proxy`: packument requests per second and latency
// for each size and encoding (block mode, filtered and cached), the service's event-loop delay
// during them, then cold 8 MB documents one at a time.
import { load } from './run-for.mjs';

export async function warmDocuments({ pool, child, sized, packuments, huge, durationMs, log }) {
  const documents = [];
  let serviceEventLoopDelay;
  let coldHugeDocuments;
  log('warm packument requests (block mode, filtered and cached):');
  await child.delay();
  for (const [i, s] of sized.entries()) {
    for (const encoding of ['identity', 'gzip']) {
      const headers = { accept: 'application/json', 'accept-encoding': encoding };
      const path = `/bench/${s.name}`;
      const probe = await pool.request({ path, method: 'GET', headers });
      const body = Buffer.from(await probe.body.arrayBuffer());
      if (probe.statusCode !== 200) throw new Error(`${path}: HTTP ${probe.statusCode}`);
      const r = await load(pool, { path, headers, durationMs });
      const ratio = r.rps / s.verdaccio;
      documents.push({
        size: s.label,
        encoding,
        bytes: body.length,
        upstreamBytes: JSON.stringify(packuments[i]).length,
        ...r,
        verdaccio: s.verdaccio,
      });
      log(
        `  ${s.label.padEnd(6)} ${encoding.padEnd(8)} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  (${kb(body.length)} served; ${ratio.toFixed(1)}x Verdaccio's ${s.verdaccio} req/s)`,
      );
    }
  }

  {
    const d = await child.delay();
    serviceEventLoopDelay = d;
    log(
      `  service event-loop delay during these: p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms`,
    );
  }

  log('\ncold 8 MB documents (fetched, evaluated, filtered, cached in memory and on disk), one at a time:');
  {
    await child.delay();
    const started = performance.now();
    for (const doc of huge) {
      const res = await pool.request({
        path: `/bench/${doc.name}`,
        method: 'GET',
        headers: { accept: 'application/json', 'accept-encoding': 'gzip' },
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${doc.name}: HTTP ${res.statusCode}`);
    }
    const ms = performance.now() - started;
    const d = await child.delay();
    coldHugeDocuments = { ...d, documents: huge.length, ms };
    log(
      `  ${huge.length} documents in ${(ms / 1000).toFixed(1)} s; service event-loop delay: p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms (target p99 <= 20 ms)`,
    );
  }
  return { documents, serviceEventLoopDelay, coldHugeDocuments };
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}
function kb(n) {
  return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
}
