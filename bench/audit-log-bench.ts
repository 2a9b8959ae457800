// npm run bench:audit-log — the audit log on both backends (embedded segments, PostgreSQL with
// fsync on), run one after the other on the same machine:
//  1. load: warm packument requests at 16 connections, first alone, then while 5,000 audit entries
//     per second are recorded (each call awaits its commit, as a refusal does): the proxy's p99
//     before/after, the entries committed per second and the commit latency;
//  2. queries: a log of N entries (default 1,000,000; --entries N), then 300 queries for one
//     policy and one package, newest 100: p50/p95 (and, embedded, the time to open the log).
// The kill -9 count is printed by test/integration/server-audit-crash.test.ts (npm test).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { AuditLog, NewAuditEntry } from '../server/audit-log.js';
import { createEmbeddedStore } from '../server/embedded-store.js';
import { createPostgresStore } from '../server/postgres-store.js';
import type { StateStore } from '../server/state-store.js';
import { makePackument } from '../test/helpers/make-packument.js';
import { daysAgo } from '../test/helpers/make-policy.js';
import { startProxyHarness } from '../test/helpers/proxy-harness.js';
import { startPostgres } from '../test/helpers/start-postgres.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '5000' },
    only: { type: 'string' },
  },
});
const ENTRIES = Number(values.entries);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const CONNECTIONS = 16;

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
  store: (dir: string) => Promise<StateStore>;
  stop(): Promise<void>;
}

async function backends(): Promise<Backend[]> {
  const out: Backend[] = [];
  const retention = { maxEntries: ENTRIES + 100_000, maxAgeDays: 0 };
  if (!values.only || values.only === 'embedded') {
    out.push({
      name: 'embedded',
      store: (dir) => createEmbeddedStore({ dataDir: dir, now: () => new Date(), audit: retention }),
      async stop() {},
    });
  }
  if (!values.only || values.only === 'postgres') {
    const server = await startPostgres({ durable: true });
    out.push({
      name: 'postgres',
      store: async () =>
        createPostgresStore({ url: await server.createDatabase(), now: () => new Date(), audit: retention }),
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
  let committed = 0;
  const started = performance.now();
  const until = started + SECONDS * 1_000;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let producer: NodeJS.Timeout | undefined;
  let recorded = 0;
  const inFlight = new Set<Promise<void>>();
  if (audit) {
    producer = setInterval(() => {
      // As many as are due by now, in calls of 10 (one refusal logs a few entries).
      const due = Math.floor(((performance.now() - started) / 1_000) * RATE) - recorded;
      for (let n = 0; n < due; n += 10) {
        const batch = Array.from({ length: Math.min(10, due - n) }, entry);
        recorded += batch.length;
        const t0 = performance.now();
        const p = audit.record(batch).then(() => {
          commitMs.push(performance.now() - t0);
          committed += batch.length;
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
  await Promise.all(inFlight);
  loop.disable();
  await pool.close();
  latencies.sort((a, b) => a - b);
  commitMs.sort((a, b) => a - b);
  return {
    requests: latencies.length / elapsed,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    entriesPerSecond: committed / elapsed,
    commitP50: pct(commitMs, 0.5),
    commitP99: pct(commitMs, 0.99),
    loopP99: loop.percentile(99) / 1e6,
  };
}

async function queries(backend: Backend) {
  const dir = await mkdtemp(join(tmpdir(), 'lockwarden-bench-audit-'));
  let store = await backend.store(dir);
  const fillStarted = performance.now();
  for (let done = 0; done < ENTRIES; done += 20_000) {
    await store.audit.record(Array.from({ length: Math.min(20_000, ENTRIES - done) }, entry));
  }
  const fillSeconds = (performance.now() - fillStarted) / 1_000;
  let reopenSeconds: number | null = null;
  if (backend.name === 'embedded') {
    await store.close();
    const t0 = performance.now();
    store = await backend.store(dir);
    reopenSeconds = (performance.now() - t0) / 1_000;
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
    reopenSeconds,
    p50: times[Math.floor(times.length / 2)]!,
    p95: pct(times, 0.95),
    averageFound: found / 300,
    unfiltered,
    newestCount: newest.entries.length,
    rssMb: process.memoryUsage.rss() / 1024 / 1024,
  };
}

console.log(
  `audit log bench: Node ${process.version}, ${SECONDS} s of load at ${CONNECTIONS} connections, ${RATE} entries/s, ${ENTRIES.toLocaleString('en')} entries for queries`,
);
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
  await load(base, null); // warm-up
  const alone = await load(base, null);
  const withAudit = await load(base, harness.service.audit);
  console.log(`\n[${backend.name}] warm packument GETs, ${CONNECTIONS} connections:`);
  console.log(
    `  alone:           ${alone.requests.toFixed(0)} req/s, p50 ${ms(alone.p50)}, p99 ${ms(alone.p99)}, event-loop p99 ${ms(alone.loopP99)}`,
  );
  console.log(
    `  + audit entries: ${withAudit.requests.toFixed(0)} req/s, p50 ${ms(withAudit.p50)}, p99 ${ms(withAudit.p99)}, event-loop p99 ${ms(withAudit.loopP99)}`,
  );
  console.log(
    `  entries committed: ${withAudit.entriesPerSecond.toFixed(0)}/s (target ${RATE}), commit latency p50 ${ms(withAudit.commitP50)}, p99 ${ms(withAudit.commitP99)}`,
  );
  await harness.close();
  const q = await queries(backend);
  console.log(`[${backend.name}] ${ENTRIES.toLocaleString('en')} entries:`);
  console.log(
    `  bulk fill ${q.fillPerSecond.toFixed(0)} entries/s${q.reopenSeconds === null ? '' : `, reopen (index rebuilt) ${q.reopenSeconds.toFixed(1)} s`}, RSS ${q.rssMb.toFixed(0)} MB`,
  );
  console.log(
    `  policy + package, newest 100: p50 ${ms(q.p50)}, p95 ${ms(q.p95)} (${q.averageFound.toFixed(1)} entries per answer); newest 100 unfiltered ${ms(q.unfiltered)}`,
  );
  await backend.stop();
}
