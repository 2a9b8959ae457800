// `bench:proxy --baseline DIR`: warm packument requests served by a built earlier checkout and by
// this one, in the same run. On a shared machine one process of a build can run faster than
// another process of the SAME build for its whole life (where the scheduler puts it next to the
// load generator, what its neighbours do), so a comparison with one process per build measures
// that luck as often as the code. Here:
// - sessions: each starts fresh services of both builds, the build started first alternating, and
//   runs every size and encoding in alternating rounds; the figures pool the rounds of all sessions;
// - each round is paired with the other build's round next to it in time, and a change is the
//   median of those paired ratios, printed with their spread and how many pairs agree in sign;
// - CPU time per request of the service (user + system) and of the load generator (the same client
//   code for both builds: if it rises, the answers cost the client more) next to req/s;
// - `--pin`: the load generator on the first CPU and the services on the last one, so both builds
//   meet the same placement; `--now DIR` compares another build instead of this one (the same DIR
//   twice shows what the harness alone produces: identical builds should differ only by noise).
import os from 'node:os';
import { resolve } from 'node:path';
import { trueMedian as median } from './median.mjs';
import { pinToCpus } from './pin-cpu.mjs';

/** A change shown only when the paired ratios' median passes this and most pairs agree. */
const SHOWN_PERCENT = 2;
const AGREEING_SHARE = 0.8;
/** Fewer pairs than this call nothing. */
const MIN_PAIRS = 4;

/**
 * @param {object} o
 * @param {string} o.baselineDir
 * @param {string | undefined} o.nowDir the build compared against the baseline (this checkout when omitted)
 * @param {number} o.durationMs per scenario and build, split over the rounds
 * @param {number} o.sessions
 * @param {number} o.rounds per session
 * @param {boolean} o.pin
 * @param {ReadonlyArray<{label: string, name: string}>} o.sized
 */
export async function compareWarm(o) {
  const { startService, runFor, undici, log, connections } = o;
  const totalRounds = o.sessions * o.rounds;
  const roundMs = Math.max(1000, Math.round((o.durationMs * 5) / 3 / totalRounds));
  const cpus = os.cpus().length;
  const pin = o.pin && cpus > 1;
  log(
    `\nwarm packuments, baseline ${o.baselineDir} against ${o.nowDir ?? 'this build'}: ${o.sessions} sessions of fresh services (the one started first alternating) × ${o.rounds} alternating rounds of ${roundMs / 1000} s${pin ? `; load generator on CPU 0, services on CPU ${cpus - 1}` : ''}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (pin) pinToCpus(0, process.pid);
  const scenarios = [];
  for (const s of o.sized)
    for (const encoding of ['identity', 'gzip'])
      scenarios.push({
        size: s.label,
        encoding,
        path: `/bench/${s.name}`,
        headers: { accept: 'application/json', 'accept-encoding': encoding },
        rounds: { baseline: [], now: [] },
        bytes: {},
      });
  const loads = [];
  try {
    for (let session = 0; session < o.sessions; session++) {
      const builds = session % 2 === 0 ? ['baseline', 'now'] : ['now', 'baseline'];
      const services = {};
      const pools = {};
      try {
        for (const which of builds) {
          const dir = which === 'baseline' ? o.baselineDir : o.nowDir;
          services[which] = await startService(o.upstreamUrl, dir ? { BENCH_LIB_ROOT: resolve(dir) } : {});
          if (pin) pinToCpus(cpus - 1, services[which].pid);
          pools[which] = new undici.Pool(`http://127.0.0.1:${services[which].port}`, {
            connections,
            pipelining: 1,
            keepAliveTimeout: 30_000,
          });
        }
        for (const sc of scenarios) {
          for (const which of builds) {
            const probe = await pools[which].request({ path: sc.path, method: 'GET', headers: sc.headers });
            sc.bytes[which] = Buffer.from(await probe.body.arrayBuffer()).length;
            if (probe.statusCode !== 200) throw new Error(`${which} ${sc.path}: HTTP ${probe.statusCode}`);
            // A fresh process compiles this path first: a second of it before any round counts.
            await runFor(pools[which], sc.path, sc.headers, 1000, 2_000_000, false);
          }
          for (let round = 0; round < o.rounds; round++) {
            loads.push(os.loadavg()[0]);
            for (const which of round % 2 === 0 ? builds : [...builds].reverse()) {
              const svc = services[which];
              // Warm-up: connections open, JIT settled on this path.
              await runFor(pools[which], sc.path, sc.headers, Math.min(1000, roundMs / 3), 2_000_000, false);
              const gc0 = await svc.gc();
              const cpu0 = await svc.cpu();
              const client0 = process.cpuUsage();
              const r = await runFor(pools[which], sc.path, sc.headers, roundMs, 2_000_000, false);
              const client = process.cpuUsage(client0);
              const cpu = (await svc.cpu()) - cpu0;
              const gc = await svc.gc();
              sc.rounds[which].push({
                rps: r.rps,
                p99: r.p99,
                cpuUs: cpu / r.requests,
                clientCpuUs: (client.user + client.system) / r.requests,
                gcUs: ((gc.ms - gc0.ms) * 1000) / r.requests,
              });
            }
          }
        }
      } finally {
        for (const pool of Object.values(pools)) await pool.close();
        for (const svc of Object.values(services)) await svc.stop();
      }
    }
  } finally {
    if (pin) pinToCpus(`0-${cpus - 1}`, process.pid);
  }
  log(
    `  load average (1 min) at the rounds' starts ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; each change is the median of ${totalRounds} paired rounds [their range] (pairs in its direction); "=" no change shown (|median| < ${SHOWN_PERCENT}%, under ${AGREEING_SHARE * 100}% of pairs agree or under ${MIN_PAIRS} pairs)`,
  );
  const out = [];
  for (const sc of scenarios) {
    const b = sc.rounds.baseline;
    const n = sc.rounds.now;
    const pick = (rows, k) => rows.map((r) => r[k]);
    const rps = paired(pick(b, 'rps'), pick(n, 'rps'), +1);
    const cpu = paired(pick(b, 'cpuUs'), pick(n, 'cpuUs'), -1);
    const client = paired(pick(b, 'clientCpuUs'), pick(n, 'clientCpuUs'), -1);
    out.push({
      size: sc.size,
      encoding: sc.encoding,
      baselineRps: pick(b, 'rps'),
      nowRps: pick(n, 'rps'),
      baselineCpuUsPerRequest: pick(b, 'cpuUs'),
      nowCpuUsPerRequest: pick(n, 'cpuUs'),
      baselineClientCpuUsPerRequest: pick(b, 'clientCpuUs'),
      nowClientCpuUsPerRequest: pick(n, 'clientCpuUs'),
      baselineGcUsPerRequest: pick(b, 'gcUs'),
      nowGcUsPerRequest: pick(n, 'gcUs'),
      rpsChange: rps,
      cpuChange: cpu,
      clientCpuChange: client,
      baselineBytes: sc.bytes.baseline,
      nowBytes: sc.bytes.now,
    });
    log(
      `  ${sc.size.padEnd(6)} ${sc.encoding.padEnd(8)} req/s ${fmt(median(pick(b, 'rps')))} vs ${fmt(median(pick(n, 'rps')))} ${describe(rps)}; service CPU/request ${median(pick(b, 'cpuUs')).toFixed(1)} vs ${median(pick(n, 'cpuUs')).toFixed(1)} µs ${describe(cpu)}; client CPU/request ${median(pick(b, 'clientCpuUs')).toFixed(1)} vs ${median(pick(n, 'clientCpuUs')).toFixed(1)} µs ${describe(client)}; GC ${median(pick(b, 'gcUs')).toFixed(1)} vs ${median(pick(n, 'gcUs')).toFixed(1)} µs/request; ${fmt(sc.bytes.baseline)} vs ${fmt(sc.bytes.now)} bytes`,
    );
  }
  const worse = out.filter((r) => r.rpsChange.verdict === 'worse' || r.cpuChange.verdict === 'worse');
  log(
    worse.length === 0
      ? '  no scenario shown worse in req/s or service CPU per request'
      : `  shown worse: ${worse.map((r) => `${r.size} ${r.encoding}`).join(', ')}`,
  );
  return out;
}

/**
 * Paired ratios now/baseline of rounds run next to each other; `better` is +1 when a higher value
 * is better (req/s), -1 when lower is (CPU time).
 */
export function paired(baseline, now, better) {
  const ratios = baseline.map((b, i) => (now[i] / b - 1) * 100);
  const med = median(ratios);
  const up = ratios.filter((r) => r > 0).length;
  const down = ratios.filter((r) => r < 0).length;
  const agreeing = med >= 0 ? up : down;
  let verdict = 'same';
  if (
    ratios.length >= MIN_PAIRS &&
    Math.abs(med) >= SHOWN_PERCENT &&
    agreeing >= AGREEING_SHARE * ratios.length
  )
    verdict = Math.sign(med) === better ? 'better' : 'worse';
  return {
    medianPercent: med,
    minPercent: Math.min(...ratios),
    maxPercent: Math.max(...ratios),
    agreeing,
    pairs: ratios.length,
    verdict,
  };
}

function describe(c) {
  const sign = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
  const mark = c.verdict === 'same' ? '=' : c.verdict;
  return `${sign(c.medianPercent)} [${sign(c.minPercent)} … ${sign(c.maxPercent)}] (${c.agreeing}/${c.pairs}) ${mark}`;
}

export { median };

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}
