// The webhook part of `npm run bench:proxy`: warm packument requests while the service refuses
// 1,000 requests a second, without a webhook and with one subscribed to a loopback receiver, in
// short alternating phases of one run (the machine is shared: only figures of the same run
// compare, and many short phases spread its background load over both arms alike).
// Both loads are open-loop (requests are sent on a schedule, not when the previous one answered),
// so a slower service shows up as latency instead of as fewer requests. Refusals cycle over 50
// block-listed names: each opens one outbox message per phase, and the rest are counted into those
// (coalescing), as a burst of refusals of a few packages is in real use.
import { createServer } from 'node:http';
import os from 'node:os';

const REFUSED_NAMES = 50;

export async function refusalWebhookScenario({
  undici,
  port,
  serviceCpu,
  profile,
  durationMs,
  log,
  rounds = 8,
}) {
  // BENCH_WEBHOOK_PROF=<dir>: a V8 CPU profile of the service for each phase (<arm>-<round>).
  const profileDir = process.env.BENCH_WEBHOOK_PROF;
  const phaseMs = Math.max(1_000, durationMs / 2);
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  const base = `http://127.0.0.1:${port}`;
  const admin = new undici.Pool(base, { connections: 2 });
  const refusals = new undici.Pool(base, { connections: 16 });
  const documents = new undici.Pool(base, { connections: 16 });
  const adminCall = async (method, path, body) => {
    const res = await admin.request({
      method,
      path: `/-/lockwarden/v1${path}`,
      headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const arms = { none: [], webhook: [] };
  const loads = [];
  try {
    // Warm both paths first (the refusal verdicts and the document are cached after this).
    await openLoop(refusals, (i) => `/bench/evil-${i % REFUSED_NAMES}`, 403, 500, 1000);
    await openLoop(documents, () => '/bench/doc-4k', 200, 500, 1000);
    // And the webhook path (hub, outbox, signing, delivery), as a long-running service's would be:
    // otherwise the first webhook phase alone pays for compiling it.
    {
      const hook = await adminCall('POST', '/webhooks', { url: receiverUrl, events: ['block'] });
      await openLoop(refusals, (i) => `/bench/evil-${i % REFUSED_NAMES}`, 403, 1000, 1000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await adminCall('DELETE', `/webhooks/${hook.id}`);
    }
    loads.push(os.loadavg()[0]);
    for (let round = 0; round < rounds; round++) {
      for (const arm of round % 2 === 0 ? ['none', 'webhook'] : ['webhook', 'none']) {
        const hook =
          arm === 'webhook'
            ? await adminCall('POST', '/webhooks', { url: receiverUrl, events: ['block'] })
            : null;
        if (profileDir) await profile('profile-start');
        const cpuBefore = await serviceCpu();
        const [refused, served] = await Promise.all([
          openLoop(refusals, (i) => `/bench/evil-${i % REFUSED_NAMES}`, 403, 1000, phaseMs),
          openLoop(documents, () => '/bench/doc-4k', 200, 500, phaseMs),
        ]);
        const cpuUs = (await serviceCpu()) - cpuBefore;
        if (profileDir) await profile('profile-stop', `${profileDir}/${arm}-${round}.cpuprofile`);
        if (hook) await adminCall('DELETE', `/webhooks/${hook.id}`);
        loads.push(os.loadavg()[0]);
        arms[arm].push({
          refused,
          served,
          cpuUs,
          requests: refused.latencies.length + served.latencies.length,
        });
      }
    }
  } finally {
    await Promise.all([admin.close(), refusals.close(), documents.close()]);
    receiver.close();
  }
  // Percentiles over every sample of an arm (all its phases pooled).
  const summary = (runs) => {
    const refused = pooled(runs.map((r) => r.refused.latencies));
    const served = pooled(runs.map((r) => r.served.latencies));
    return {
      refusalsPerSec: median(runs.map((r) => r.refused.rate)),
      refusalP99: refused(99),
      documentP50: served(50),
      documentP99: served(99),
      documentP99s: runs.map((r) => r.served.p99),
      // Less swayed than the pooled p99 by one phase that met a burst of another process's work.
      documentP99Median: median(runs.map((r) => r.served.p99)),
      // The service's own CPU per request: what the webhook costs, less exposed than latency to
      // what other processes on the machine do.
      cpuUsPerRequest: runs.reduce((a, r) => a + r.cpuUs, 0) / runs.reduce((a, r) => a + r.requests, 0),
    };
  };
  const none = summary(arms.none);
  const webhook = summary(arms.webhook);
  const change = (webhook.documentP99 / none.documentP99 - 1) * 100;
  const medianChange = (webhook.documentP99Median / none.documentP99Median - 1) * 100;
  const cpuChange = (webhook.cpuUsPerRequest / none.cpuUsPerRequest - 1) * 100;
  for (const [label, s] of [
    ['no webhook        ', none],
    ['webhook subscribed', webhook],
  ]) {
    log(
      `  ${label}  ${s.refusalsPerSec.toFixed(0)} refusals/s (p99 ${s.refusalP99.toFixed(2)} ms); warm 4 KB packument at 500/s: p50 ${s.documentP50.toFixed(2)} ms, p99 ${s.documentP99.toFixed(2)} ms; service CPU ${s.cpuUsPerRequest.toFixed(0)} µs/request (p99 per round: ${s.documentP99s.map((v) => v.toFixed(2)).join(', ')})`,
    );
  }
  const signed = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
  log(
    `  warm p99 with a subscribed receiver: ${signed(change)} (${rounds} alternating rounds of ${phaseMs / 1000} s per arm, samples pooled; ${received} messages delivered); median of the rounds' p99s ${signed(medianChange)}; service CPU per request ${signed(cpuChange)}`,
  );
  log(
    `  load average (1 min) over the rounds: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${os.cpus().length} cores (the machine is shared: compare the arms of one run)`,
  );
  return {
    none,
    webhook,
    p99ChangePercent: change,
    p99MedianChangePercent: medianChange,
    cpuChangePercent: cpuChange,
    loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
    delivered: received,
  };
}

/**
 * Sends `rate` requests a second for `durationMs` on a schedule (a 5 ms tick tops up to the
 * count the elapsed time calls for), and reports the achieved rate and latency percentiles.
 */
async function openLoop(pool, pathOf, expectStatus, rate, durationMs) {
  const latencies = [];
  const inFlight = new Set();
  let issued = 0;
  let wrong = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= durationMs) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor((elapsed / 1000) * rate);
      while (issued < due) {
        const t0 = performance.now();
        const path = pathOf(issued++);
        const p = pool
          .request({ path, method: 'GET', headers: { accept: 'application/json' } })
          .then(async (res) => {
            await res.body.dump();
            if (res.statusCode !== expectStatus) wrong++;
            latencies.push(performance.now() - t0);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }, 5);
  });
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  if (wrong > 0) throw new Error(`${wrong} requests did not answer ${expectStatus}`);
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { rate: latencies.length / seconds, p50: pct(50), p99: pct(99), latencies };
}

function pooled(lists) {
  const all = lists.flat().sort((a, b) => a - b);
  return (p) => all[Math.min(all.length - 1, Math.floor((p / 100) * all.length))] ?? 0;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
