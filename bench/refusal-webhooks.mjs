// The webhook part of `npm run bench:proxy`: warm packument requests while the service refuses
// 1,000 requests a second, without a webhook and with one subscribed to a loopback receiver, in
// short alternating phases of one run (the machine is shared: only figures of the same run
// compare, and many short phases spread its background load over both arms alike).
// Both loads are open-loop (requests are sent on a schedule, not when the previous one answered),
// so a slower service shows up as latency instead of as fewer requests. Refusals cycle over 50
// block-listed names: each opens one outbox message per phase (a new subscription's first burst,
// or every key's next 10-minute window), and the rest are counted into those (coalescing), as a
// burst of refusals of a few packages is in real use.
//
// Fairness: a first pair of phases (one of each arm) is run and discarded (the service's first
// phase after the warm-up was always the slowest, and it landed on one arm only); the arm that
// goes first alternates; and after each phase the service is left alone until the arm's own work
// is done (the summed repeats written, the attempts' outcomes committed) before the next phase
// starts, so none of one arm's work is measured in the other. That settling time is counted in the
// arm's service CPU; the receiver runs in a process of its own (webhook-receiver.mjs).
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, trueMedian } from './median.mjs';

const REFUSED_NAMES = 50;
/** Longer than the hub's repeat flush (1 s) and the outbox's wait for attempt outcomes (1 s). */
const SETTLE_MS = 1_500;

export async function refusalWebhookScenario({
  undici,
  port,
  serviceCpu,
  serviceDelay,
  serviceBusy,
  profile,
  durationMs,
  log,
  rounds = 20,
  aa = false,
}) {
  // BENCH_WEBHOOK_PROF=<dir>: a V8 CPU profile of the service for each phase (<arm>-<round>).
  const profileDir = process.env.BENCH_WEBHOOK_PROF;
  const phaseMs = Math.max(1_000, durationMs / 2);
  const receiver = await startReceiver();
  const receiverUrl = `http://127.0.0.1:${receiver.port}/hook`;
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
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** One phase of one arm: both loads at once, then the service left to finish the arm's work. */
  const phase = async (arm, label) => {
    const hook =
      arm === 'webhook' && !aa
        ? await adminCall('POST', '/webhooks', { url: receiverUrl, events: ['block'] })
        : null;
    if (profileDir && label) await profile('profile-start');
    const receivedBefore = await receiver.count();
    await serviceDelay();
    const cpuBefore = await serviceCpu();
    const busyBefore = await serviceBusy();
    const [refused, served] = await Promise.all([
      openLoop(refusals, (i) => `/bench/evil-${i % REFUSED_NAMES}`, 403, 1000, phaseMs),
      openLoop(documents, () => '/bench/doc-4k', 200, 500, phaseMs),
    ]);
    const delay = await serviceDelay();
    await sleep(SETTLE_MS);
    const cpuUs = (await serviceCpu()) - cpuBefore;
    const busyMs = (await serviceBusy()) - busyBefore;
    const delivered = (await receiver.count()) - receivedBefore;
    if (profileDir && label) await profile('profile-stop', `${profileDir}/${arm}-${label}.cpuprofile`);
    if (hook) {
      await adminCall('DELETE', `/webhooks/${hook.id}`);
      await sleep(200);
    }
    return {
      refused,
      served,
      cpuUs,
      busyMs,
      delivered,
      loopDelayP99: delay.p99Ms,
      requests: refused.latencies.length + served.latencies.length,
    };
  };

  const arms = { none: [], webhook: [] };
  const loads = [];
  try {
    // Warm both paths first (the refusal verdicts and the document are cached after this).
    await openLoop(refusals, (i) => `/bench/evil-${i % REFUSED_NAMES}`, 403, 500, 1000);
    await openLoop(documents, () => '/bench/doc-4k', 200, 500, 1000);
    // Then one discarded phase of each arm, so the webhook path (hub, outbox, signing, delivery)
    // is compiled, as a long-running service's would be, and neither arm's first phase counts.
    await phase('webhook');
    await phase('none');
    loads.push(os.loadavg()[0]);
    for (let round = 0; round < rounds; round++) {
      for (const arm of round % 2 === 0 ? ['none', 'webhook'] : ['webhook', 'none']) {
        arms[arm].push(await phase(arm, String(round)));
        loads.push(os.loadavg()[0]);
      }
    }
  } finally {
    await Promise.all([admin.close(), refusals.close(), documents.close()]);
    await receiver.stop();
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
      // The service's own CPU per request, the settling after each phase included: what the
      // webhook costs, less exposed than latency to what other processes on the machine do.
      cpuUsPerRequest: runs.reduce((a, r) => a + r.cpuUs, 0) / runs.reduce((a, r) => a + r.requests, 0),
      // The main thread's own CPU per request: the part of that CPU that holds the loop requests
      // wait for (process CPU also counts other threads: the webhook sender's, libuv's pool).
      busyUsPerRequest:
        (runs.reduce((a, r) => a + r.busyMs, 0) * 1000) / runs.reduce((a, r) => a + r.requests, 0),
      // The service's event-loop delay (perf_hooks.monitorEventLoopDelay), median of the phases' p99s.
      loopDelayP99Median: median(runs.map((r) => r.loopDelayP99)),
      delivered: runs.reduce((a, r) => a + r.delivered, 0),
    };
  };
  const none = summary(arms.none);
  const webhook = summary(arms.webhook);
  // The two arms of a round ran back to back: their p99s' ratio leaves out what changed between
  // rounds (the machine's own slow spells), and the median of those ratios leaves out the rounds
  // a stall of another process hit. Its 90% interval comes from resampling the rounds.
  const ratios = arms.webhook.map((w, i) => w.served.p99 / arms.none[i].served.p99 - 1);
  const pairedChange = trueMedian(ratios) * 100;
  const [low, high] = bootstrapMedian(ratios).map((v) => v * 100);
  if (none.delivered > 0)
    throw new Error(`${none.delivered} messages arrived during phases without a webhook`);
  const change = (webhook.documentP99 / none.documentP99 - 1) * 100;
  const medianChange = (webhook.documentP99Median / none.documentP99Median - 1) * 100;
  const cpuChange = (webhook.cpuUsPerRequest / none.cpuUsPerRequest - 1) * 100;
  const busyChange = (webhook.busyUsPerRequest / none.busyUsPerRequest - 1) * 100;
  for (const [label, s] of [
    ['no webhook        ', none],
    ['webhook subscribed', webhook],
  ]) {
    log(
      `  ${label}  ${s.refusalsPerSec.toFixed(0)} refusals/s (p99 ${s.refusalP99.toFixed(2)} ms); warm 4 KB packument at 500/s: p50 ${s.documentP50.toFixed(2)} ms, p99 ${s.documentP99.toFixed(2)} ms; service CPU ${s.cpuUsPerRequest.toFixed(0)} µs/request (main thread ${s.busyUsPerRequest.toFixed(0)} µs), event-loop delay p99 ${s.loopDelayP99Median.toFixed(2)} ms (p99 per round: ${s.documentP99s.map((v) => v.toFixed(2)).join(', ')})`,
    );
  }
  const signed = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
  log(
    `  warm p99 with a subscribed receiver: ${signed(change)} (${rounds} alternating rounds of ${phaseMs / 1000} s per arm after a discarded one, samples pooled; ${webhook.delivered} messages delivered); median of the rounds' p99s ${signed(medianChange)}; service CPU per request ${signed(cpuChange)}, main-thread CPU per request ${signed(busyChange)}`,
  );
  log(
    `  median of the per-round ratios (the arms of one round ran back to back): ${signed(pairedChange)}, 90% interval ${signed(low)} … ${signed(high)} (bootstrap over the ${rounds} rounds)${aa ? "; A/A run: neither arm had a webhook, so this is the comparison's noise floor" : ''}`,
  );
  log(
    `  load average (1 min) over the rounds: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${os.cpus().length} cores (the machine is shared: compare the arms of one run)`,
  );
  return {
    none,
    webhook,
    p99ChangePercent: change,
    p99MedianChangePercent: medianChange,
    p99PairedChangePercent: pairedChange,
    p99PairedInterval90: [low, high],
    aa,
    cpuChangePercent: cpuChange,
    busyChangePercent: busyChange,
    loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
    delivered: webhook.delivered,
  };
}

/** The receiver process: its port, how many messages it got so far, and a stop. */
async function startReceiver() {
  const child = fork(fileURLToPath(new URL('./webhook-receiver.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`webhook receiver exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (type !== 'listening') child.send({ type });
    });
  const { port } = await ask('listening');
  return {
    port,
    count: async () => (await ask('count')).received,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
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

/** 5th and 95th percentiles of the median over 2,000 resamples (a fixed seed: reproducible). */
function bootstrapMedian(values) {
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians = [];
  for (let b = 0; b < 2_000; b++)
    medians.push(trueMedian(values.map(() => values[Math.floor(random() * values.length)])));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(0.05 * medians.length)], medians[Math.floor(0.95 * medians.length)]];
}
