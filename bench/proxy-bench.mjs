#!/usr/bin/env node
// `npm run bench:proxy`: lockwarden serve (built JS in lib/) in a child process, in front of a
// loopback fake upstream, driven by an in-process undici load generator (32 connections, bounded
// by time and request count, loopback only). Measures warm packument requests per second and p99
// latency for 4 KB, 50 KB and 1 MB documents in block mode, tarball throughput, RSS with 1,000
// packuments cached, and a real `npm install` and `pnpm install` (pnpm 12) of a 70-package project
// through the proxy versus straight from the fake upstream, all with cold caches (pnpm twice: with
// the fake upstream answering at once, and 20 ms late per request, as a real registry's answers
// are), and the upstream requests of one install with and without prefetch.
//
// Event-loop delay (perf_hooks.monitorEventLoopDelay) is printed for the service during the load
// scenarios, and for the disk cache alone while it stores and reads back 8 MB documents (the way
// it used to, synchronously, and as it does now, in the same run).
//
// Options: --duration SECONDS per scenario (default 5), --installs N rounds of npm installs (default 11),
//          --skip-webhooks (the 1,000 refusals/s scenario with and without a webhook receiver),
//          --only-webhooks (that scenario alone), --webhook-rounds N (its measured rounds, default 10),
//          --skip-load, --skip-install, --skip-disk-cache, --only-pnpm (the pnpm install rounds alone),
//          --upstream-latency MS[,MS...] the pnpm scenarios, per request of the fake upstream (default 0,20),
//          --json (machine-readable summary on stdout), --baseline DIR (a built checkout of an
//          earlier commit: warm packument throughput of both services, alternating, and a third arm
//          of the pnpm install rounds through a fresh service of that build, in the same run),
//          --only-baseline (that warm comparison alone; warm-comparison.mjs), with --sessions N
//          (fresh services of both builds, default 2), --rounds N (per session, default 3),
//          --sizes 4KB,50KB,1MB, --pin (load generator and services on separate CPUs), --now DIR
//          (compare that build instead of this checkout; the baseline's DIR again: an A/A run).
import { execFile, fork } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './ensure-built.mjs';
import { refusalWebhookScenario } from './refusal-webhooks.mjs';
import { compareWarm } from './warm-comparison.mjs';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = rootDir;
const DAY = 86_400_000;
const CONNECTIONS = 32;
const DISK_CACHE_ROUNDS = 5;
/** Installs of other projects through each pnpm-scenario service before its timed rounds. */
const WARM_INSTALLS = 20;

if (process.argv[2] === '--serve-child') {
  await serveChild();
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// The service, in its own process so the load generator does not share its event loop.
async function serveChild() {
  // --baseline: the service of an earlier build, in the same harness.
  const root = process.env.BENCH_LIB_ROOT ?? rootDir;
  const { createApp } = await import(pathToFileURL(join(root, 'lib/server/create-app.js')).href);
  const { createSources } = await import(pathToFileURL(join(root, 'lib/src/sources/create-sources.js')).href);
  const { createPopularIndex } = await import(
    pathToFileURL(join(root, 'lib/src/policy/popular-index.js')).href
  );
  const { validatePolicy } = await import(pathToFileURL(join(root, 'lib/src/policy/parse-policy.js')).href);
  const { readPopularList } = await import(pathToFileURL(join(root, 'lib/src/sources/popular-list.js')).href);
  const { pino } = await import('pino');
  const upstream = process.env.BENCH_UPSTREAM;
  const dataDir = process.env.BENCH_DATA_DIR;
  const popular = readPopularList();
  const sources = createSources(
    {
      registryUrl: upstream,
      npm: { cwd: dataDir, env: {} },
      downloadsUrl: 'http://127.0.0.1:9/',
      githubApiUrl: 'http://127.0.0.1:9/',
      gitBaseUrl: 'http://127.0.0.1:9',
      ...(process.env.BENCH_NO_DISK_CACHE ? {} : { cacheDir: join(dataDir, 'cache') }),
      http: { retries: 0 },
    },
    { popular },
  );
  const policy = validatePolicy(
    // `evil-*`: the refusals of the webhook scenario (refusal-webhooks.mjs).
    {
      id: 'bench',
      action: 'block',
      coolingOffDays: 7,
      typosquatting: true,
      onUnavailable: 'alert',
      block: ['evil-*'],
    },
    { file: 'bench-policy' },
  );
  const service = await createApp({
    dataDir,
    sources,
    popular: createPopularIndex(popular),
    adminToken: 'bench',
    filePolicies: [{ policy, file: 'bench-policy' }],
    // BENCH_SERVICE_LOG=info shows the service's request log (on stderr) for a closer look.
    logger: pino({ level: process.env.BENCH_SERVICE_LOG ?? 'silent' }, pino.destination(2)),
    version: 'bench',
    // The webhook scenario's receiver is on loopback.
    allowPrivateWebhooks: true,
    ...(process.env.BENCH_PREFETCH
      ? { cache: { prefetchConcurrency: Number(process.env.BENCH_PREFETCH) } }
      : {}),
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, service.app.callback());
  server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gcTotals = { ms: 0, count: 0, minor: 0, major: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTotals.ms += e.duration;
      gcTotals.count++;
      // NODE_PERFORMANCE_GC_MAJOR is 4; scavenges (minor) are 1.
      if (e.detail?.kind === 4) gcTotals.major++;
      else gcTotals.minor++;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (msg) => {
    if (msg.type === 'delay') {
      process.send({ type: 'delay', p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 });
      delay.reset();
    } else if (msg.type === 'cpu') {
      process.send({ type: 'cpu', cpu: process.cpuUsage() });
    } else if (msg.type === 'busy') {
      // The main thread's own CPU time so far (ms): what holds the loop requests are served on,
      // where process CPU also counts other threads (the webhook sender's, libuv's pool). Linux
      // keeps it per thread in schedstat (ns on a CPU), unaffected by time spent waiting for
      // one; elsewhere the event loop's busy wall time stands in.
      let ms;
      try {
        const { readFileSync } = await import('node:fs');
        ms = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      } catch {
        ms = performance.eventLoopUtilization().active;
      }
      process.send({ type: 'busy', ms });
    } else if (msg.type === 'rss') {
      // CPU time read before the collection the RSS figure needs, so it is not counted as load.
      const cpu = process.cpuUsage();
      globalThis.gc?.();
      process.send({
        type: 'rss',
        rss: process.memoryUsage().rss,
        cpu,
        cache: service.packages.stats(),
      });
    } else if (msg.type === 'gc') {
      // Time in garbage collection so far (ms) and how many collections, by kind.
      const { getHeapSpaceStatistics } = await import('node:v8');
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
      process.send({ type: 'gc', ...gcTotals, spaces });
    } else if (msg.type === 'heap-profile-start' || msg.type === 'heap-profile-stop') {
      // A sampling heap profile (what allocates, by function) between the two messages.
      const { Session } = await import('node:inspector');
      const { writeFile: write } = await import('node:fs/promises');
      globalThis.benchHeapSession ??= new Session();
      const session = globalThis.benchHeapSession;
      const post = (method, params) =>
        new Promise((res, rej) => session.post(method, params, (err, out) => (err ? rej(err) : res(out))));
      if (msg.type === 'heap-profile-start') {
        session.connect();
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', {
          samplingInterval: 1024,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      } else {
        const { profile } = await post('HeapProfiler.stopSampling');
        session.disconnect();
        await write(msg.file, JSON.stringify(profile));
      }
      process.send({ type: msg.type });
    } else if (msg.type === 'profile-start' || msg.type === 'profile-stop') {
      // BENCH_INSTALL_PROF=<dir>: a V8 CPU profile of the service during each proxied pnpm install
      // only (not its start or warm-up), for finding what a client's request pattern costs.
      const { Session } = await import('node:inspector');
      const { writeFile: write } = await import('node:fs/promises');
      globalThis.benchSession ??= new Session();
      const session = globalThis.benchSession;
      const post = (method) =>
        new Promise((res, rej) => session.post(method, (err, out) => (err ? rej(err) : res(out))));
      if (msg.type === 'profile-start') {
        session.connect();
        await post('Profiler.enable');
        await post('Profiler.start');
      } else {
        const { profile } = await post('Profiler.stop');
        session.disconnect();
        await write(msg.file, JSON.stringify(profile));
      }
      process.send({ type: msg.type });
    } else if (msg.type === 'stop') {
      server.closeAllConnections();
      server.close();
      await service.close();
      await sources.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const { values: flags } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      installs: { type: 'string', default: '11' },
      'skip-install': { type: 'boolean', default: false },
      'skip-load': { type: 'boolean', default: false },
      'skip-disk-cache': { type: 'boolean', default: false },
      'only-pnpm': { type: 'boolean', default: false },
      'upstream-latency': { type: 'string', default: '0,20' },
      baseline: { type: 'string' },
      'skip-webhooks': { type: 'boolean', default: false },
      'only-webhooks': { type: 'boolean', default: false },
      'webhook-rounds': { type: 'string', default: '10' },
      'only-baseline': { type: 'boolean', default: false },
      now: { type: 'string' },
      sessions: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      pin: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const onlyWebhooks = flags['only-webhooks'];
  if (onlyWebhooks) {
    flags['skip-load'] = true;
    flags['skip-install'] = true;
    flags['skip-disk-cache'] = true;
  }
  if (flags['only-baseline']) {
    // The warm before/after comparison alone (needs --baseline).
    if (!flags.baseline) throw new Error('--only-baseline needs --baseline DIR');
    flags['skip-load'] = true;
    flags['skip-install'] = true;
    flags['skip-disk-cache'] = true;
    flags['skip-webhooks'] = true;
  }
  if (flags['only-pnpm']) {
    flags['skip-load'] = true;
    flags['skip-disk-cache'] = true;
  }
  const durationMs = Number(flags.duration) * 1000;
  const upstreamLatencies = flags['upstream-latency'].split(',').map((v) => {
    const ms = Number(v.trim());
    if (!Number.isInteger(ms) || ms < 0) throw new Error(`--upstream-latency: not a number of ms: ${v}`);
    return ms;
  });
  const log = flags.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
  ensureBuilt(log);
  const { undici, helpers } = await loadHelpers();
  const now = new Date();
  const age = (days) => new Date(now.getTime() - days * DAY);

  const cpus = os.cpus();
  log(`lockwarden proxy benchmark`);
  log(
    `machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  log(
    `load: ${CONNECTIONS} concurrent connections over loopback, ${durationMs / 1000}s per scenario after a warm-up\n`,
  );

  // Documents of the three sizes; the youngest version of each is hidden by the block policy.
  const sized = [
    { label: '4 KB', name: 'doc-4k', versions: 3, bytes: 4 * 1024, verdaccio: 2500 },
    { label: '50 KB', name: 'doc-50k', versions: 30, bytes: 50 * 1024, verdaccio: 800 },
    { label: '1 MB', name: 'doc-1m', versions: 300, bytes: 1024 * 1024, verdaccio: 38 },
  ];
  const packuments = sized.map((s) =>
    helpers.makePackument({
      name: s.name,
      versions: Array.from({ length: s.versions }, (_, i) => ({
        version: `1.0.${i}`,
        publishedAt: age(i === s.versions - 1 ? 1 : 400 - i),
      })),
      targetBytes: s.bytes,
    }),
  );
  const bigTarball = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < bigTarball.length; i += 4) bigTarball.writeUInt32LE((i * 2654435761) >>> 0, i);
  packuments.push(
    helpers.makePackument({ name: 'big-tarball', versions: [{ version: '1.0.0', publishedAt: age(100) }] }),
  );
  // Cold 8 MB documents: fetched, parsed, evaluated, filtered and stored on disk by the service.
  const huge = Array.from({ length: 6 }, (_, i) =>
    helpers.makePackument({
      name: `doc-8m-${i}`,
      versions: Array.from({ length: 2000 }, (_, v) => ({
        version: `1.0.${v}`,
        publishedAt: age(v === 1999 ? 1 : 2500 - v),
      })),
      targetBytes: 8 * 1024 * 1024,
    }),
  );
  const many = Array.from({ length: 1000 }, (_, i) =>
    helpers.makePackument({
      name: `cached-${i}`,
      versions: Array.from({ length: 10 }, (_, v) => ({
        version: `2.${v}.0`,
        publishedAt: age(v === 9 ? 2 : 300 - v),
      })),
      targetBytes: 20 * 1024,
    }),
  );
  const project = makeInstallProject(helpers, age);
  // pnpm: one project of the same shape with new names per round and scenario, so each install
  // meets a service that has never seen its packages; and more for warming that service up first.
  const pnpmProjects = flags['skip-install']
    ? []
    : Array.from({ length: upstreamLatencies.length }, (_, s) =>
        Array.from({ length: Number(flags.installs) }, (_, r) =>
          makeInstallProject(helpers, age, `s${s}-r${String(r).padStart(2, '0')}-pkg-`),
        ),
      );
  const warmProjects = flags['skip-install']
    ? []
    : Array.from({ length: WARM_INSTALLS }, (_, w) =>
        makeInstallProject(helpers, age, `warm-${String(w).padStart(2, '0')}-pkg-`),
      );
  const prefetchProject = makePrefetchProject(helpers, age);
  const upstream = await helpers.startFakeRegistry({
    shape: 'public',
    packuments: [
      ...packuments,
      ...huge,
      ...many,
      ...project.packuments,
      ...pnpmProjects.flat().flatMap((p) => p.packuments),
      ...warmProjects.flatMap((p) => p.packuments),
      ...prefetchProject.packuments,
    ],
    tarballs: { 'big-tarball@1.0.0': bigTarball },
  });
  // Served from precomputed bytes, as a CDN would: the shared cores go to npm and the proxy.
  upstream.precompute();
  const results = {
    machine: { cpu: cpus[0]?.model, cores: cpus.length, node: process.version },
    documents: [],
    tarball: null,
    rss: null,
    install: null,
    prefetch: null,
    pnpmInstall: null,
  };
  let child = await startService(upstream.url);
  const warmComparison = () => ({
    baselineDir: flags.baseline,
    nowDir: flags.now,
    upstreamUrl: upstream.url,
    sized: flags.sizes
      ? sized.filter((s) => flags.sizes.split(',').includes(s.label.replace(' ', '')))
      : sized,
    durationMs,
    sessions: Number(flags.sessions),
    rounds: Number(flags.rounds),
    pin: flags.pin,
    startService,
    runFor,
    undici,
    log,
    connections: CONNECTIONS,
  });
  /**
   * Install rounds, direct and through a fresh service (empty document and upstream caches, its
   * code warmed on other packages first, as a long-running service's would be), the arms in an
   * order that rotates every round, the disk let settle before each. With `baseline`, a fresh
   * service of that earlier build is a third arm, so before and after meet the same load.
   */
  const pairedRounds = async (install, { baseline } = {}) => {
    const arms = baseline ? ['direct', 'proxy', 'baseline'] : ['direct', 'proxy'];
    const times = Object.fromEntries(arms.map((a) => [a, []]));
    const loads = [];
    for (let round = 0; round < Number(flags.installs); round++) {
      loads.push(os.loadavg()[0]);
      await child.stop();
      child = await startService(upstream.url);
      const services = { proxy: child };
      if (baseline)
        services.baseline = await startService(upstream.url, { BENCH_LIB_ROOT: resolve(baseline) });
      for (const svc of Object.values(services)) {
        await warmUp(
          svc.port,
          many.slice(0, 200).map((p) => ({ name: p.name, version: '2.0.0' })),
        );
      }
      const order = arms.map((_, i) => arms[(i + round) % arms.length]);
      for (const which of order) {
        await settle();
        times[which].push(await install(which, services[which]));
      }
      await services.baseline?.stop();
    }
    log(
      `  load average (1 min) at the rounds' starts: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (the machine is shared: compare the arms of one run)`,
    );
    return { direct: times.direct, proxied: times.proxy, baseline: times.baseline };
  };
  /**
   * Cold pnpm 12 installs, direct and through the proxy (and the baseline build), with every
   * answer of the fake upstream held back `latencyMs` first: a real registry is never 0 ms away
   * (the audit bench models it with 20 ms per request), and with none the service's own CPU per
   * request is all that separates the arms. The services run through all rounds, as a deployed
   * one does, and each round installs a project of new names: a cold cache in a warm process.
   */
  const pnpmScenario = async (latencyMs, projects, services) => {
    log(
      `\npnpm 12 install of a ${project.count}-package project, cold store and caches, upstream answering after ${latencyMs} ms (${flags.installs} rounds, new names each, median):`,
    );
    upstream.clearFaults();
    if (latencyMs > 0) upstream.fault({ kind: 'delay', ms: latencyMs });
    const arms = Object.keys(services).length > 1 ? ['direct', 'proxy', 'baseline'] : ['direct', 'proxy'];
    const times = Object.fromEntries(arms.map((a) => [a, []]));
    const serviceCpu = { proxy: [], baseline: [] };
    const upstreamRequests = { direct: [], proxy: [], baseline: [] };
    const loads = [];
    try {
      for (const [round, { dependencies }] of projects.entries()) {
        loads.push(os.loadavg()[0]);
        for (const which of arms.map((_, i) => arms[(i + round) % arms.length])) {
          await settle();
          const requestsBefore = upstream.requests.length;
          if (which === 'direct') {
            times.direct.push(await pnpmInstall(dependencies, upstream.url));
            upstreamRequests.direct.push(upstream.requests.length - requestsBefore);
            continue;
          }
          const svc = services[which];
          const profileDir = process.env.BENCH_INSTALL_PROF;
          if (profileDir) await svc.profile('profile-start');
          // Read without the forced collection child.rss() does: that one would be counted.
          const before = await svc.cpu();
          times[which].push(await pnpmInstall(dependencies, `http://127.0.0.1:${svc.port}/bench/`));
          serviceCpu[which].push(((await svc.cpu()) - before) / 1000);
          upstreamRequests[which].push(upstream.requests.length - requestsBefore);
          if (profileDir)
            await svc.profile(
              'profile-stop',
              join(profileDir, `pnpm-install-${latencyMs}ms-${which}-${round}.cpuprofile`),
            );
        }
      }
    } finally {
      upstream.clearFaults();
    }
    log(
      `  load average (1 min) at the rounds' starts: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (the machine is shared: compare the arms of one run)`,
    );
    const { direct, proxy: proxied, baseline } = times;
    const md = median(direct);
    const mp = median(proxied);
    const paired = median(direct.map((d, i) => proxied[i] / d - 1));
    const out = {
      upstreamLatencyMs: latencyMs,
      directMs: direct,
      proxyMs: proxied,
      medianDirectMs: md,
      medianProxyMs: mp,
      pairedOverhead: paired,
      serviceCpuMs: serviceCpu.proxy,
      upstreamRequests: { direct: upstreamRequests.direct, proxy: upstreamRequests.proxy },
    };
    const seconds = (list) =>
      `${(median(list) / 1000).toFixed(2)} s (${list.map((d) => (d / 1000).toFixed(2)).join(', ')})`;
    const judged = latencyMs > 0 ? '' : ' (judged on the scenario with upstream latency: see the README)';
    log(`  direct from the fake upstream: ${seconds(direct)}`);
    log(`  through lockwarden (block):   ${seconds(proxied)}`);
    log(
      `  upstream requests per install (median): ${median(upstreamRequests.direct)} direct, ${median(upstreamRequests.proxy)} through lockwarden`,
    );
    if (baseline) {
      const pairedBase = median(direct.map((d, i) => baseline[i] / d - 1));
      out.baseline = {
        dir: flags.baseline,
        proxyMs: baseline,
        pairedOverhead: pairedBase,
        serviceCpuMs: serviceCpu.baseline,
      };
      log(`  through the baseline build:   ${seconds(baseline)}`);
      log(
        `  service CPU per install (median): ${median(serviceCpu.proxy).toFixed(0)} ms (${serviceCpu.proxy.map((c) => c.toFixed(0)).join(', ')}); baseline ${median(serviceCpu.baseline).toFixed(0)} ms (${serviceCpu.baseline.map((c) => c.toFixed(0)).join(', ')})`,
      );
      log(
        `  overhead (median of per-round pairs with direct): ${(paired * 100).toFixed(1)}% now, ${(pairedBase * 100).toFixed(1)}% baseline; target within +20%${judged}`,
      );
    } else {
      log(
        `  service CPU per install (median): ${median(serviceCpu.proxy).toFixed(0)} ms (${serviceCpu.proxy.map((c) => c.toFixed(0)).join(', ')})`,
      );
      log(
        `  overhead: ${((mp / md - 1) * 100).toFixed(1)}% (medians); ${(paired * 100).toFixed(1)}% (median of per-round pairs); target within +20%${judged}`,
      );
    }
    return out;
  };
  try {
    const base = `http://127.0.0.1:${child.port}`;
    const pool = new undici.Pool(base, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000 });
    const webhookScenario = async () => {
      log('\n1,000 refusals/s, without and with a subscribed webhook receiver (alternating rounds):');
      results.webhooks = await refusalWebhookScenario({
        undici,
        port: child.port,
        serviceCpu: child.cpu,
        serviceDelay: child.delay,
        serviceBusy: child.busy,
        profile: child.profile,
        durationMs,
        log,
        rounds: Number(flags['webhook-rounds']),
      });
    };
    if (onlyWebhooks) await webhookScenario();
    if (flags['only-baseline']) results.baseline = await compareWarm(warmComparison());

    if (!flags['skip-load']) {
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
          results.documents.push({
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
        results.serviceEventLoopDelay = d;
        log(
          `  service event-loop delay during these: p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms`,
        );
      }

      log(
        '\ncold 8 MB documents (fetched, evaluated, filtered, cached in memory and on disk), one at a time:',
      );
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
        results.coldHugeDocuments = { ...d, documents: huge.length, ms };
        log(
          `  ${huge.length} documents in ${(ms / 1000).toFixed(1)} s; service event-loop delay: p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms (target p99 <= 20 ms)`,
        );
      }

      if (flags.baseline) {
        results.baseline = await compareWarm(warmComparison());
      }

      if (!flags['skip-webhooks']) await webhookScenario();

      log('\ntarball throughput (4 MB tarball, evaluated, streamed from upstream):');
      {
        const r = await load(pool, {
          path: '/bench/big-tarball/-/big-tarball-1.0.0.tgz',
          headers: {},
          durationMs,
          countBytes: true,
        });
        results.tarball = { ...r, mbPerSec: r.bytes / 1024 / 1024 / r.seconds };
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
        results.rss = {
          beforeBytes: before.rss,
          afterBytes: after.rss,
          cachedEntries: after.cache.entries,
          cachedBytes: after.cache.bytes,
        };
        log(
          `  RSS ${mb(before.rss)} before, ${mb(after.rss)} with ${after.cache.entries} packages cached (${mb(after.cache.bytes)} accounted in the document cache)`,
        );
      }
    }
    await pool.close();

    if (!flags['skip-disk-cache']) {
      log('\ndisk cache storing and reading back 8 MB documents (event-loop delay of this process):');
      results.diskCache = await diskCacheDelay(log);
    }

    if (!flags['skip-install'] && !flags['only-pnpm']) {
      log(
        `\nnpm install of a ${project.count}-package project, cold caches (${flags.installs} rounds, median):`,
      );
      const cpu = { upstreamDirect: [], upstreamProxied: [], service: [] };
      // Untimed: the first npm run of a session pays for loading npm itself from disk.
      await npmInstall(project.dependencies, upstream.url);
      const { direct, proxied } = await pairedRounds(async (which) => {
        const upstreamBefore = process.cpuUsage();
        if (which === 'direct') {
          const ms = await npmInstall(project.dependencies, upstream.url);
          cpu.upstreamDirect.push(cpuMs(process.cpuUsage(upstreamBefore)));
          return ms;
        }
        // child.cpu(), not child.rss(): the collection rss() forces would be counted.
        const serviceBefore = await child.cpu();
        const ms = await npmInstall(project.dependencies, `http://127.0.0.1:${child.port}/bench/`);
        cpu.upstreamProxied.push(cpuMs(process.cpuUsage(upstreamBefore)));
        cpu.service.push(((await child.cpu()) - serviceBefore) / 1000);
        return ms;
      });
      const md = median(direct);
      const mp = median(proxied);
      results.install = {
        packages: project.count,
        directMs: direct,
        proxyMs: proxied,
        medianDirectMs: md,
        medianProxyMs: mp,
        overhead: mp / md - 1,
      };
      log(
        `  direct from the fake upstream: ${(md / 1000).toFixed(2)} s (${direct.map((d) => (d / 1000).toFixed(2)).join(', ')})`,
      );
      log(
        `  through lockwarden (block):   ${(mp / 1000).toFixed(2)} s (${proxied.map((d) => (d / 1000).toFixed(2)).join(', ')})`,
      );
      // Rounds run back to back, so each pair shares the machine's load at that moment.
      const paired = median(direct.map((d, i) => proxied[i] / d - 1));
      results.install.pairedOverhead = paired;
      results.install.cpuMs = cpu;
      log(
        `  CPU per install (median): service ${median(cpu.service).toFixed(0)} ms; fake upstream ${median(cpu.upstreamDirect).toFixed(0)} ms direct, ${median(cpu.upstreamProxied).toFixed(0)} ms proxied`,
      );
      log(
        `  overhead: ${((mp / md - 1) * 100).toFixed(1)}% (medians); ${(paired * 100).toFixed(1)}% (median of per-round pairs)`,
      );
    }
    if (!flags['skip-install']) {
      // Untimed: loads pnpm from disk once.
      await pnpmInstall(project.dependencies, upstream.url);
      // Long-running services, warmed up by WARM_INSTALLS installs of other projects of the same
      // shape: a service started just before the rounds spent about two thirds of its CPU per
      // install compiling and running not yet optimized code, and reached its steady figure only
      // after a dozen installs (a third of what its first ones cost).
      const services = { proxy: await startService(upstream.url) };
      if (flags.baseline)
        services.baseline = await startService(upstream.url, { BENCH_LIB_ROOT: resolve(flags.baseline) });
      try {
        for (const svc of Object.values(services)) {
          const warmPool = new undici.Pool(`http://127.0.0.1:${svc.port}`, { connections: 16 });
          for (const warm of warmProjects) await replayInstall(warmPool, warm.dependencies);
          await warmPool.close();
        }
        results.pnpmInstalls = [];
        for (const [s, latencyMs] of upstreamLatencies.entries()) {
          const scenario = await pnpmScenario(latencyMs, pnpmProjects[s], services);
          results.pnpmInstalls.push(scenario);
          // The first scenario (no latency, unless --upstream-latency says otherwise) keeps its old key.
          results.pnpmInstall ??= scenario;
        }
      } finally {
        for (const svc of Object.values(services)) await svc.stop();
      }
    }

    if (!flags['skip-install'] && !flags['only-pnpm']) {
      log(
        `\nprefetch traffic: cold npm install of ${prefetchProject.installed} packages whose dependencies' latest versions pull in ${prefetchProject.decoys} others (upstream requests per install):`,
      );
      results.prefetch = {};
      for (const [label, env] of [
        ['prefetch off', { BENCH_PREFETCH: '0' }],
        ['prefetch on ', {}],
      ]) {
        await child.stop();
        child = await startService(upstream.url, env);
        const before = upstream.requests.length;
        const ms = await npmInstall(prefetchProject.dependencies, `http://127.0.0.1:${child.port}/bench/`, {
          prefix: 'pf-',
          count: prefetchProject.installed,
        });
        // Prefetches still running after npm is done count too: wait until upstream traffic stops.
        let seen = -1;
        while (seen !== upstream.requests.length) {
          seen = upstream.requests.length;
          await new Promise((r) => setTimeout(r, 300));
        }
        const requests = upstream.requests.slice(before);
        const documents = requests.filter((r) => !r.path.endsWith('.tgz')).length;
        const stats = (await child.rss()).cache;
        results.prefetch[label.trim()] = {
          ms,
          requests: requests.length,
          documents,
          prefetched: stats.prefetched,
        };
        log(
          `  ${label}: ${requests.length} upstream requests (${documents} documents, ${requests.length - documents} tarballs), ${stats.prefetched} prefetched, install ${(ms / 1000).toFixed(2)} s`,
        );
      }
    }
  } finally {
    await child.stop();
    await upstream.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
/**
 * The disk cache alone, as the proxy drives it while cold 8 MB documents arrive: each is stored,
 * then read back, one after another, while a 1 ms timer measures how late the event loop runs.
 * Synchronous I/O for every size (the cache before issue 9), the thread pool with each CRC in one
 * call (before the CRCs were sliced), and now, in the same run.
 */
async function diskCacheDelay(log) {
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

// ---------------------------------------------------------------------------------------------
/** The fake registry and packument builders from test/helpers, compiled once with esbuild. */
async function loadHelpers() {
  const esbuild = await import('esbuild');
  // Inside the project so the bundle's bare imports (semver) resolve from node_modules.
  const outfile = join(root, 'node_modules', '.cache', `lockwarden-bench-helpers-${process.pid}.mjs`);
  await esbuild.build({
    stdin: {
      contents:
        "export * from './test/helpers/fake-registry.ts'; export * from './test/helpers/make-packument.ts';",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  const helpers = await import(pathToFileURL(outfile).href);
  const undici = await import('undici');
  await rm(outfile, { force: true });
  return { helpers, undici };
}

async function startService(upstreamUrl, extraEnv = {}) {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-data-'));
  const child = fork(fileURLToPath(import.meta.url), ['--serve-child'], {
    env: {
      ...process.env,
      ...extraEnv,
      BENCH_UPSTREAM: upstreamUrl,
      BENCH_DATA_DIR: dataDir,
      NODE_ENV: 'production',
    },
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the service for a closer look.
    execArgv: [
      '--expose-gc',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      // BENCH_SERVICE_FLAGS="--trace-gc ..." passes Node.js flags to the service alone.
      ...(process.env.BENCH_SERVICE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolvePort, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
    child.on('message', (m) => m.type === 'listening' && resolvePort(m.port));
  });
  child.removeAllListeners('exit');
  /** Sends one message to the service and resolves with its answer of the same type. */
  const ask = (type, extra = {}) =>
    new Promise((resolveAnswer) => {
      const onMessage = (m) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolveAnswer(m);
      };
      child.on('message', onMessage);
      child.send({ type, ...extra });
    });
  return {
    port,
    pid: child.pid,
    /** Event-loop delay since the last call (p99 and max, ms). */
    delay: () => ask('delay'),
    /** Starts or stops (writing `file`) a CPU profile of the service. */
    profile: (type, file) => ask(type, { file }).then(() => {}),
    /** The service's CPU time so far (user and system, µs). */
    cpu: () => ask('cpu').then((m) => m.cpu.user + m.cpu.system),
    /** Time in garbage collection so far (`ms`) and collections (`minor`, `major`). */
    gc: () => ask('gc'),
    /** The service's main-thread CPU time so far (ms). */
    busy: () => ask('busy').then((m) => m.ms),
    rss: () => ask('rss'),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Each package's two documents and one tarball (`{ name, version }`), 8 at a time. */
async function warmUp(port, packages) {
  const undici = await import('undici');
  const pool = new undici.Pool(`http://127.0.0.1:${port}`, { connections: 8 });
  await runConcurrent(packages, 8, async ({ name, version }) => {
    for (const accept of ['application/json', 'application/vnd.npm.install-v1+json']) {
      const res = await pool.request({ path: `/bench/${name}`, method: 'GET', headers: { accept } });
      await res.body.dump();
    }
    const tgz = await pool.request({ path: `/bench/${name}/-/${name}-${version}.tgz`, method: 'GET' });
    await tgz.body.dump();
    if (tgz.statusCode !== 200) throw new Error(`warm-up: ${name}@${version}: HTTP ${tgz.statusCode}`);
  });
  await pool.close();
}

/**
 * What a client installing `dependencies` asks of the proxy, the way pnpm does (16 requests at a
 * time; each package's abbreviated document, then its dependencies' documents as it arrives, and
 * the tarball of the version served as latest): warms a service up without a client's CPU cost.
 */
async function replayInstall(pool, dependencies) {
  const seen = new Set(Object.keys(dependencies));
  const queue = [...seen].map((name) => ({ kind: 'document', name }));
  const fetchOne = async (job) => {
    if (job.kind === 'tarball') {
      const res = await pool.request({ path: job.path, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`warm-up: ${job.path}: HTTP ${res.statusCode}`);
      return;
    }
    const res = await pool.request({
      path: `/bench/${job.name}`,
      method: 'GET',
      headers: {
        accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*',
        'accept-encoding': 'gzip',
      },
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`warm-up: ${job.name}: HTTP ${res.statusCode}`);
    const { gunzipSync } = await import('node:zlib');
    const doc = JSON.parse(
      (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
    );
    const manifest = doc.versions[doc['dist-tags'].latest];
    queue.push({ kind: 'tarball', path: new URL(manifest.dist.tarball).pathname });
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      queue.push({ kind: 'document', name: dep });
    }
  };
  let active = 0;
  await new Promise((resolveAll, reject) => {
    const pump = () => {
      if (queue.length === 0 && active === 0) return resolveAll();
      while (active < 16 && queue.length > 0) {
        active++;
        fetchOne(queue.shift()).then(() => {
          active--;
          pump();
        }, reject);
      }
    };
    pump();
  });
}

/** CONNECTIONS loops hitting one path until the time (or request) budget is spent. */
async function load(pool, { path, headers, durationMs, countBytes = false }) {
  const maxRequests = 2_000_000;
  // Warm-up: connections open, caches filled, JIT settled.
  await runFor(pool, path, headers, Math.min(1000, durationMs / 4), maxRequests, false);
  return runFor(pool, path, headers, durationMs, maxRequests, countBytes);
}

async function runFor(pool, path, headers, durationMs, maxRequests, countBytes) {
  const latencies = [];
  let bytes = 0;
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  // The dispatch API with plain callbacks: no stream per response, so the generator spends as
  // little of the shared CPU as it can and the numbers describe the service.
  const once = () =>
    new Promise((resolveRequest, reject) => {
      let status = 0;
      pool.dispatch(
        { path, method: 'GET', headers },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData(_controller, chunk) {
            if (countBytes) bytes += chunk.length;
          },
          onResponseEnd() {
            resolveRequest(status);
          },
          onResponseError(_controller, err) {
            reject(err);
          },
        },
      );
    });
  const worker = async () => {
    while (performance.now() < deadline && issued < maxRequests) {
      issued++;
      const t0 = performance.now();
      const status = await once();
      if (status !== 200) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (errors > 0) throw new Error(`${path}: ${errors} requests failed`);
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    bytes,
  };
}

async function runConcurrent(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * 70 packages: 10 direct dependencies, each pulling 6 more (some shared), every package with an
 * old allowed version and a young one the policy hides.
 */
function makeInstallProject(helpers, age, prefix = 'proj-pkg-') {
  const names = Array.from({ length: 70 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  const packuments = names.map((name, i) => {
    const deps = {};
    if (i < 10) for (let k = 0; k < 6; k++) deps[names[10 + ((i * 6 + k) % 60)]] = '^1.0.0';
    return helpers.makePackument({
      name,
      versions: [
        { version: '1.0.0', publishedAt: age(200), dependencies: deps },
        { version: '1.1.0', publishedAt: age(100), dependencies: deps },
        { version: '1.2.0', publishedAt: age(2), dependencies: deps },
      ],
      targetBytes: 8 * 1024,
    });
  });
  const dependencies = Object.fromEntries(names.slice(0, 10).map((n) => [n, '^1.0.0']));
  return { packuments, dependencies, count: names.length };
}

/**
 * A project whose installed tree differs from its packages' latest versions: each direct
 * dependency asks for `^1` of a library whose latest (2.x) depends on a tree of decoys the install
 * never needs. Prefetch that follows latest versions fetches the decoys; following ranges does not.
 */
function makePrefetchProject(helpers, age) {
  const packuments = [];
  const dependencies = {};
  let decoys = 0;
  for (let i = 0; i < 10; i++) {
    const top = `pf-top-${i}`;
    const lib = `pf-lib-${i}`;
    dependencies[top] = '^1.0.0';
    packuments.push(
      helpers.makePackument({
        name: top,
        versions: [{ version: '1.0.0', publishedAt: age(100), dependencies: { [lib]: '^1.0.0' } }],
      }),
    );
    const decoyDeps = {};
    for (let k = 0; k < 5; k++) {
      const decoy = `pf-decoy-${i}-${k}`;
      decoyDeps[decoy] = '^1.0.0';
      const leaves = {};
      for (let m = 0; m < 3; m++) {
        const leaf = `pf-decoy-${i}-${k}-${m}`;
        leaves[leaf] = '^1.0.0';
        packuments.push(
          helpers.makePackument({ name: leaf, versions: [{ version: '1.0.0', publishedAt: age(100) }] }),
        );
        decoys++;
      }
      packuments.push(
        helpers.makePackument({
          name: decoy,
          versions: [{ version: '1.0.0', publishedAt: age(100), dependencies: leaves }],
        }),
      );
      decoys++;
    }
    packuments.push(
      helpers.makePackument({
        name: lib,
        versions: [
          { version: '1.0.0', publishedAt: age(200) },
          { version: '2.0.0', publishedAt: age(100), dependencies: decoyDeps },
        ],
      }),
    );
  }
  return { packuments, dependencies, installed: 20, decoys };
}

async function npmInstall(dependencies, registry, expect = { prefix: 'proj-pkg-', count: 70 }) {
  const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-install-'));
  try {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, dependencies }),
    );
    await writeFile(join(dir, '.npmrc-user'), '');
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
    Object.assign(env, {
      npm_config_cache: join(dir, '.npm-cache'),
      npm_config_userconfig: join(dir, '.npmrc-user'),
      npm_config_globalconfig: join(dir, '.npmrc-global'),
      npm_config_registry: registry,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_fetch_retries: '0',
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
    });
    // BENCH_NPM_LOG=<file> appends npm's timing and http log of each install, for a closer look.
    if (process.env.BENCH_NPM_LOG)
      Object.assign(env, { npm_config_loglevel: 'silly', npm_config_timing: 'true' });
    const started = performance.now();
    await new Promise((resolveInstall, reject) => {
      execFile(
        'npm',
        ['install', '--no-package-lock', '--ignore-scripts'],
        { cwd: dir, env, timeout: 300_000 },
        (err, _o, stderr) => {
          if (err) return reject(new Error(`npm install failed: ${stderr}`));
          if (process.env.BENCH_NPM_LOG)
            appendFileSync(
              process.env.BENCH_NPM_LOG,
              `=== ${registry} ${performance.now() - started} ms\n${stderr}`,
            );
          resolveInstall();
        },
      );
    });
    const ms = performance.now() - started;
    const installed = await readdir(join(dir, 'node_modules'));
    const count = installed.filter((n) => n.startsWith(expect.prefix)).length;
    if (count !== expect.count)
      throw new Error(`expected ${expect.count} ${expect.prefix}* packages, got ${count}`);
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A cold pnpm 12 install (fresh store and cache, its own age gate off): the client whose bursts of
 * parallel tarball requests met 504s through the proxy before connect failures were retried. */
async function pnpmInstall(dependencies, registry) {
  // Every project here names its 70 packages `<prefix>00` to `<prefix>69`.
  const expect = { prefix: Object.keys(dependencies)[0].slice(0, -2), count: 70 };
  const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-pnpm-'));
  try {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, dependencies }),
    );
    await writeFile(join(dir, '.npmrc'), `registry=${registry}\n`);
    await writeFile(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\n');
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_)/i.test(k)) env[k] = v;
    Object.assign(env, {
      HOME: dir,
      PNPM_CONFIG_REGISTRY: registry,
      PNPM_CONFIG_STORE_DIR: join(dir, '.pnpm-store'),
      PNPM_CONFIG_CACHE_DIR: join(dir, '.pnpm-cache'),
      PNPM_HOME: join(dir, '.pnpm-home'),
      npm_config_fetch_retries: '0',
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
    });
    const started = performance.now();
    await new Promise((resolveInstall, reject) => {
      execFile(
        process.execPath,
        [
          join(root, 'node_modules/pnpm12/bin/pnpm.mjs'),
          'install',
          '--ignore-scripts',
          '--no-frozen-lockfile',
        ],
        { cwd: dir, env, timeout: 300_000 },
        (err, stdout, stderr) => {
          if (err) return reject(new Error(`pnpm install failed: ${stdout}${stderr}`));
          resolveInstall();
        },
      );
    });
    const ms = performance.now() - started;
    const installed = await readdir(join(dir, 'node_modules', '.pnpm'));
    const count = installed.filter((n) => n.startsWith(expect.prefix)).length;
    if (count !== expect.count)
      throw new Error(`pnpm: expected ${expect.count} ${expect.prefix}* packages, got ${count}`);
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Lets the disk catch up before a timed install: the previous install's thousands of written and
 * deleted files are otherwise flushed (and discarded) during the next one, and both arms drift.
 */
async function settle() {
  await new Promise((resolveSync) => execFile('sync', () => resolveSync()));
  await new Promise((resolveWait) => setTimeout(resolveWait, 500));
}

function cpuMs(u) {
  return (u.user + u.system) / 1000;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}
function kb(n) {
  return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
}
function mb(n) {
  return `${(n / 1024 / 1024).toFixed(0)} MB`;
}
