// npm run bench:audit-log — the audit log on both backends (embedded segments, PostgreSQL with
// fsync on), run one after the other on the same machine:
//  1. load: warm packument requests at 16 connections with the log at its retention cap (so
//     segments are dropped during the run), in alternating rounds alone and while 5,000 audit
//     entries per second are recorded (each call awaits its commit, as a refusal does): the
//     proxy's p99 per round, the event loop's delay and busy share, the entries committed in each
//     second, and the log's capacity (writers awaiting their commits, no HTTP load);
//  2. queries: a log of N entries (default 1,000,000; --entries N), opened again with index
//     snapshots, after a simulated kill -9 (no snapshot of the newest segment) and with none
//     (every line parsed, as before snapshots); then 300 queries for one policy and one package,
//     newest 100: p50/p95;
//  3. kill -9: `lockwarden serve` under 64 connections of refusals and hidden versions, killed
//     mid-load and started again: acknowledged responses vs entries found (audit-crash-scenario.ts).
// The machine is shared: the load average is printed, and rounds alternate so both see the same load.
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { AuditLog, NewAuditEntry } from '../server/audit-log.js';
import { AUDIT_DEFAULTS } from '../server/create-app.js';
import { createEmbeddedStore } from '../server/embedded-store.js';
import { createPostgresStore } from '../server/postgres-store.js';
import type { StateStore } from '../server/state-store.js';
import { makePackument } from '../test/helpers/make-packument.js';
import { daysAgo } from '../test/helpers/make-policy.js';
import { startProxyHarness } from '../test/helpers/proxy-harness.js';
import { startPostgres } from '../test/helpers/start-postgres.js';
import { crashScenario } from './audit-crash-scenario.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '5000' },
    only: { type: 'string' },
    'kill-after': { type: 'string', default: '5000' },
  },
});
const ENTRIES = Number(values.entries);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const ROUNDS = Number(values.rounds);
const KILL_AFTER_MS = Number(values['kill-after']);
const CONNECTIONS = 16;
const load1 = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const ms = (n: number) => `${n.toFixed(1)} ms`;

let serial = 0;
function entry(): NewAuditEntry {
  const i = serial++;
  return {
    policy: `policy-${i % 20}`,
    label: i % 3 === 0 ? null : `label-${i % 50}`,
    source: i % 10 === 0 ? 'ci' : 'registry',
    package: `package-${(i * 7919) % 20_000}`,
    version: `1.${i % 30}.0`,
    rule: i % 4 === 0 ? 'typosquatting' : 'cooling-off',
    outcome: i % 2 === 0 ? 'blocked' : 'hidden',
    reason: `package-${i % 20_000}@1.${i % 30}.0 was published 2 days ago; the policy requires 7 days`,
    userAgent: 'npm/11.6.2 node/v20.20.2 linux x64 workspaces/false',
  };
}

interface Backend {
  name: string;
  /** PostgreSQL: a new database's URL. */
  database?: () => Promise<string>;
  store: (dir: string) => Promise<StateStore>;
  /** `lockwarden serve` arguments for the kill -9 scenario. */
  serveArgs: (dir: string) => Promise<string[]>;
  stop(): Promise<void>;
}

async function backends(): Promise<Backend[]> {
  const out: Backend[] = [];
  const retention = { maxEntries: ENTRIES + 100_000, maxAgeDays: 0 };
  if (!values.only || values.only === 'embedded') {
    out.push({
      name: 'embedded',
      store: (dir) => createEmbeddedStore({ dataDir: dir, now: () => new Date(), audit: retention }),
      serveArgs: async (dir) => ['--data', join(dir, 'data')],
      async stop() {},
    });
  }
  if (!values.only || values.only === 'postgres') {
    const server = await startPostgres({ durable: true });
    out.push({
      name: 'postgres',
      store: async () =>
        createPostgresStore({ url: await server.createDatabase(), now: () => new Date(), audit: retention }),
      serveArgs: async () => ['--database-url', await server.createDatabase()],
      database: () => server.createDatabase(),
      stop: () => server.stop(),
    });
  }
  return out;
}

/** Warm GETs at CONNECTIONS for SECONDS; with `audit`, RATE entries/s recorded meanwhile. */
async function load(base: string, audit: AuditLog | null) {
  const pool = new Pool(base, { connections: CONNECTIONS });
  const latencies: number[] = [];
  const commitMs: number[] = [];
  // Entries committed in each second of the run (by when their commit resolved).
  const perSecond: number[] = Array.from({ length: SECONDS }, () => 0);
  let committed = 0;
  const started = performance.now();
  const until = started + SECONDS * 1_000;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const elu0 = performance.eventLoopUtilization();
  let producer: NodeJS.Timeout | undefined;
  let recorded = 0;
  let backlog = 0;
  const inFlight = new Set<Promise<void>>();
  if (audit) {
    producer = setInterval(() => {
      // As many as are due by now, in calls of 10 (one refusal logs a few entries).
      const due = Math.floor(((Math.min(performance.now(), until) - started) / 1_000) * RATE) - recorded;
      for (let n = 0; n < due; n += 10) {
        const batch = Array.from({ length: Math.min(10, due - n) }, entry);
        recorded += batch.length;
        const t0 = performance.now();
        const p = audit.record(batch).then(() => {
          const t = performance.now();
          commitMs.push(t - t0);
          committed += batch.length;
          const second = Math.floor((t - started) / 1_000);
          if (second < SECONDS) perSecond[second]! += batch.length;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
    }, 5);
  }
  const client = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const res = await pool.request({
        path: '/strict/left-pad',
        method: 'GET',
        headers: { 'accept-encoding': 'gzip' },
      });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  if (producer) clearInterval(producer);
  const elapsed = (performance.now() - started) / 1_000;
  backlog = recorded - committed;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await Promise.all(inFlight);
  loop.disable();
  await pool.close();
  latencies.sort((a, b) => a - b);
  commitMs.sort((a, b) => a - b);
  return {
    requests: latencies.length / elapsed,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    // Whole seconds after the first (the producer starts from nothing).
    committedPerSecond: perSecond.slice(1),
    backlog,
    commitP50: pct(commitMs, 0.5),
    commitP99: pct(commitMs, 0.99),
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    elu,
  };
}

/** What the log commits at most: 64 writers of 10 entries, each awaiting its commit, for 2 s. */
async function capacity(audit: AuditLog): Promise<number> {
  const until = performance.now() + 2_000;
  let committed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < until) {
        await audit.record(Array.from({ length: 10 }, entry));
        committed += 10;
      }
    }),
  );
  return committed / ((performance.now() - started) / 1_000);
}

/**
 * PostgreSQL: how long a policy written through one replica takes to be loaded by another (the
 * NOTIFY arriving, then the reload a replica does on it), 20 times.
 */
async function propagation(url: string): Promise<number[]> {
  const open = () =>
    createPostgresStore({ url, now: () => new Date(), audit: { maxEntries: 1_000, maxAgeDays: 0 } });
  const a = await open();
  const b = await open();
  const times: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const id = `propagated-${i}`;
      const arrived = new Promise<void>((resolve) => {
        const stop = b.onPoliciesChanged(() => {
          void b.policies.list().then((list) => {
            if (list.some((p) => p.id === id)) {
              stop();
              resolve();
            }
          });
        });
      });
      const now = new Date().toISOString();
      const t0 = performance.now();
      await a.policies.insert({
        id,
        policy: { id },
        revision: 1,
        createdAt: now,
        updatedAt: now,
        stamp: String(i),
      });
      await arrived;
      times.push(performance.now() - t0);
    }
  } finally {
    await a.close();
    await b.close();
  }
  return times.sort((x, y) => x - y);
}

/** Removes index snapshots: all of them, or the newest segment's (what a kill -9 leaves). */
async function removeSnapshots(dir: string, which: 'newest' | 'all'): Promise<void> {
  const auditDir = join(dir, 'audit');
  const names = (await readdir(auditDir)).filter((n) => n.endsWith('.idx')).sort();
  for (const name of which === 'all' ? names : names.slice(-1)) await unlink(join(auditDir, name));
}

async function queries(backend: Backend) {
  const dir = await mkdtemp(join(tmpdir(), 'lockwarden-bench-audit-'));
  let store = await backend.store(dir);
  const fillStarted = performance.now();
  for (let done = 0; done < ENTRIES; done += 20_000) {
    await store.audit.record(Array.from({ length: Math.min(20_000, ENTRIES - done) }, entry));
  }
  const fillSeconds = (performance.now() - fillStarted) / 1_000;
  const reopen: Record<string, { wall: number; cpu: number }> = {};
  if (backend.name === 'embedded') {
    for (const how of ['snapshots', 'after kill -9', 'no snapshots'] as const) {
      await store.close();
      if (how === 'after kill -9') await removeSnapshots(dir, 'newest');
      if (how === 'no snapshots') await removeSnapshots(dir, 'all');
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      store = await backend.store(dir);
      const cpu = process.cpuUsage(cpu0);
      // CPU time too: on a shared machine the wall time mostly says how long the process waited.
      reopen[how] = { wall: (performance.now() - t0) / 1_000, cpu: (cpu.user + cpu.system) / 1e6 };
    }
  }
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < 300; q++) {
    // A pair that was logged: about ENTRIES / 20,000 entries each.
    const i = (q * 104_729) % ENTRIES;
    const t0 = performance.now();
    const page = await store.audit.query({
      policy: `policy-${i % 20}`,
      package: `package-${(i * 7919) % 20_000}`,
      limit: 100,
    });
    times.push(performance.now() - t0);
    found += page.entries.length;
  }
  const t0 = performance.now();
  const newest = await store.audit.query({ limit: 100 });
  const unfiltered = performance.now() - t0;
  times.sort((a, b) => a - b);
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return {
    fillPerSecond: ENTRIES / fillSeconds,
    reopen,
    p50: times[Math.floor(times.length / 2)]!,
    p95: pct(times, 0.95),
    averageFound: found / 300,
    unfiltered,
    newestCount: newest.entries.length,
    rssMb: process.memoryUsage.rss() / 1024 / 1024,
  };
}

console.log(
  `audit log bench: Node ${process.version}, ${ROUNDS} rounds of ${SECONDS} s of load at ${CONNECTIONS} connections, ${RATE} entries/s, ${ENTRIES.toLocaleString('en')} entries for queries; load average ${load1()} (2 cores shared with other jobs)`,
);
const f0 = (n: number) => n.toFixed(0);
for (const backend of await backends()) {
  const harness = await startProxyHarness({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: Array.from({ length: 60 }, (_, i) => ({
          version: `1.${i}.0`,
          publishedAt: new Date(daysAgo(300 - i * 5)),
        })),
      }),
    ],
    filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    // The embedded store lives in the harness's data directory; PostgreSQL in a database of its own.
    app: backend.name === 'postgres' ? { store: () => backend.store('') } : {},
  });
  const base = await harness.listen();
  const audit = harness.service.audit;
  // At its retention cap, as a service that has run for a while: commits drop old segments.
  for (let done = 0; done < AUDIT_DEFAULTS.maxEntries; done += 10_000) {
    await audit.record(Array.from({ length: 10_000 }, entry));
  }
  await load(base, null); // warm-up
  const alone: Awaited<ReturnType<typeof load>>[] = [];
  const logging: Awaited<ReturnType<typeof load>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    alone.push(await load(base, null));
    logging.push(await load(base, audit));
  }
  const cap = await capacity(audit);
  console.log(
    `\n[${backend.name}] warm packument GETs, ${CONNECTIONS} connections, log at its cap of ${AUDIT_DEFAULTS.maxEntries.toLocaleString('en')} entries (load average ${load1()}):`,
  );
  const row = (name: string, runs: typeof alone) =>
    console.log(
      `  ${name} p99 ${runs.map((x) => ms(x.p99)).join(' / ')} (median ${ms(median(runs.map((x) => x.p99)))}), p50 ${ms(median(runs.map((x) => x.p50)))}, ${f0(median(runs.map((x) => x.requests)))} req/s, event loop p99 ${ms(median(runs.map((x) => x.loopP99)))} max ${ms(Math.max(...runs.map((x) => x.loopMax)))}, busy ${f0(median(runs.map((x) => x.elu * 100)))}%`,
    );
  row('alone:          ', alone);
  row(`+ ${RATE} entries/s:`, logging);
  const seconds = logging.flatMap((x) => x.committedPerSecond);
  console.log(
    `  entries committed per second (whole seconds of ${ROUNDS} rounds): min ${f0(Math.min(...seconds))}, median ${f0(median(seconds))} (offered ${RATE}); not yet committed when the load ended: ${logging.map((x) => x.backlog).join(' / ')}; commit latency p50 ${ms(median(logging.map((x) => x.commitP50)))}, p99 ${ms(median(logging.map((x) => x.commitP99)))}`,
  );
  console.log(`  capacity (64 writers awaiting their commits, no HTTP load): ${f0(cap)} entries/s`);
  await harness.close();

  const q = await queries(backend);
  console.log(`[${backend.name}] ${ENTRIES.toLocaleString('en')} entries (load average ${load1()}):`);
  const reopen = Object.entries(q.reopen)
    .map(([how, t]) => `${how} ${t.wall.toFixed(2)} s (CPU ${t.cpu.toFixed(2)} s)`)
    .join(', ');
  console.log(
    `  bulk fill ${f0(q.fillPerSecond)} entries/s${reopen ? `; open: ${reopen}` : ''}; RSS ${f0(q.rssMb)} MB`,
  );
  console.log(
    `  policy + package, newest 100: p50 ${ms(q.p50)}, p95 ${ms(q.p95)} (${q.averageFound.toFixed(1)} entries per answer); newest 100 unfiltered ${ms(q.unfiltered)}`,
  );

  if (backend.database) {
    const times = await propagation(await backend.database());
    console.log(
      `[${backend.name}] a policy written on one replica, loaded by another (NOTIFY + reload), 20 times: p50 ${ms(median(times))}, max ${ms(times.at(-1)!)} (target: within 1 s)`,
    );
  }

  const crash = await crashScenario({
    storeArgs: backend.serveArgs,
    connections: 64,
    killAfterMs: KILL_AFTER_MS,
  });
  const line = (name: string, c: typeof crash.refusals) =>
    `${name}: ${c.acknowledged} acknowledged, ${c.found} found after the restart, lost ${c.lostBeforeMargin} acknowledged 250 ms or more before the kill, ${c.lostInMargin} in the last 250 ms`;
  console.log(
    `[${backend.name}] kill -9 after ${(crash.killAfterMs / 1_000).toFixed(1)} s of 64 connections (load average ${load1()}), restart ${(crash.restartMs / 1_000).toFixed(1)} s:`,
  );
  console.log(`  ${line('refusals (403)', crash.refusals)}`);
  console.log(`  ${line('hidden versions (200)', crash.hidden)}`);
  await backend.stop();
}
