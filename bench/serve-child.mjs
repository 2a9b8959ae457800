// The service of `npm run bench:proxy` (start-service.mjs forks this file): lockwarden serve from
// the built JS in lib/ (or BENCH_LIB_ROOT's), in its own process so the load generator does not
// share its event loop. It answers the harness's messages (event-loop delay, CPU, RSS, GC,
// profiles, stop) over the IPC channel.
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function serveChild() {
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

if (process.argv[1] === fileURLToPath(import.meta.url)) await serveChild();
