#!/usr/bin/env node
// `npm run bench:proxy`: lockwarden serve (built JS in lib/) in a child process, in front of a
// loopback fake upstream, driven by an in-process undici load generator (32 connections, bounded
// by time and request count, loopback only). Measures warm packument requests per second and p99
// latency for 4 KB, 50 KB and 1 MB documents in block mode, tarball throughput, RSS with 1,000
// packuments cached, and a real `npm install` and `pnpm install` (pnpm 12) of a 70-package project
// through the proxy versus straight from the fake upstream, all with cold caches (pnpm three times:
// with the fake upstream answering at once, 20 ms late, and 150 ms late per request, about what the
// registry this project's CI machine reaches takes: see the README), and the upstream requests of
// one install with and without prefetch.
//
// Event-loop delay (perf_hooks.monitorEventLoopDelay) is printed for the service during the load
// scenarios, and for the disk cache alone while it stores and reads back 8 MB documents (the way
// it used to, synchronously, and as it does now, in the same run).
//
// Options: --duration SECONDS per scenario (default 5), --installs N rounds of npm installs (default 11),
//          --skip-webhooks (the 1,000 refusals/s scenario with and without a webhook receiver),
//          --only-webhooks (that scenario alone), --webhook-rounds N (its measured rounds, default 20),
//          --webhook-aa (both of its arms without a webhook: the noise floor of its comparison),
//          --skip-load, --skip-install, --skip-disk-cache, --only-pnpm (the pnpm install rounds alone),
//          --upstream-latency MS[,MS...] the pnpm scenarios, per request of the fake upstream (default 0,20,150),
//          --json (machine-readable summary on stdout), --baseline DIR (a built checkout of an
//          earlier commit: warm packument throughput of both services, alternating, and a third arm
//          of the pnpm install rounds through a fresh service of that build, in the same run),
//          --only-baseline (that warm comparison alone; warm-comparison.mjs), with --sessions N
//          (fresh services of both builds, default 2), --rounds N (per session, default 3),
//          --sizes 4KB,50KB,1MB, --pin (load generator and services on separate CPUs; in the pnpm
//          rounds pnpm and the fake upstream on every CPU but the last, the services on the last: what
//          an install costs when the service has a core of its own), --now DIR
//          (compare that build instead of this checkout; the baseline's DIR again: an A/A run).
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { diskCacheDelay } from './disk-cache-delay.mjs';
import { ensureBuilt } from './ensure-built.mjs';
import { loadHelpers } from './load-helpers.mjs';
import { makeInstallProject, makePrefetchProject } from './make-install-project.mjs';
import { npmInstall } from './npm-install.mjs';
import { npmInstallRounds } from './npm-install-rounds.mjs';
import { pinToCpus } from './pin-cpu.mjs';
import { pnpmInstall } from './pnpm-install.mjs';
import { pnpmScenario } from './pnpm-scenario.mjs';
import { refusalWebhookScenario } from './refusal-webhooks.mjs';
import { replayInstall } from './replay-install.mjs';
import { CONNECTIONS, runFor } from './run-for.mjs';
import { startService } from './start-service.mjs';
import { tarballAndMemory } from './tarball-and-memory.mjs';
import { compareWarm } from './warm-comparison.mjs';
import { warmDocuments } from './warm-documents.mjs';

const DAY = 86_400_000;
/** Installs of other projects through each pnpm-scenario service before its timed rounds. */
const WARM_INSTALLS = 20;

await main();

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
      'upstream-latency': { type: 'string', default: '0,20,150' },
      baseline: { type: 'string' },
      'skip-webhooks': { type: 'boolean', default: false },
      'only-webhooks': { type: 'boolean', default: false },
      'webhook-rounds': { type: 'string', default: '20' },
      'webhook-aa': { type: 'boolean', default: false },
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
        aa: flags['webhook-aa'],
      });
    };
    if (onlyWebhooks) await webhookScenario();
    if (flags['only-baseline']) results.baseline = await compareWarm(warmComparison());

    if (!flags['skip-load']) {
      Object.assign(results, await warmDocuments({ pool, child, sized, packuments, huge, durationMs, log }));

      if (flags.baseline) {
        results.baseline = await compareWarm(warmComparison());
      }

      if (!flags['skip-webhooks']) await webhookScenario();

      Object.assign(results, await tarballAndMemory({ pool, child, many, durationMs, log }));
    }
    await pool.close();

    if (!flags['skip-disk-cache']) {
      log('\ndisk cache storing and reading back 8 MB documents (event-loop delay of this process):');
      results.diskCache = await diskCacheDelay(log);
    }

    if (!flags['skip-install'] && !flags['only-pnpm']) {
      results.install = await npmInstallRounds({
        freshService: async () => {
          await child.stop();
          child = await startService(upstream.url);
          return child;
        },
        upstream,
        project,
        many,
        installs: Number(flags.installs),
        log,
      });
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
      const cpus = os.cpus().length;
      const pinned = flags.pin && cpus > 1;
      if (pinned) {
        // pnpm and the fake upstream run in (or are started by) this process and inherit its CPUs.
        pinToCpus(cpus === 2 ? '0' : `0-${cpus - 2}`, process.pid);
        for (const svc of Object.values(services)) pinToCpus(cpus - 1, svc.pid);
        log(
          `\npinned: pnpm and the fake upstream on CPU ${cpus === 2 ? '0' : `0-${cpus - 2}`}, the services on CPU ${cpus - 1}`,
        );
      }
      try {
        for (const svc of Object.values(services)) {
          const warmPool = new undici.Pool(`http://127.0.0.1:${svc.port}`, { connections: 16 });
          for (const warm of warmProjects) await replayInstall(warmPool, warm.dependencies);
          await warmPool.close();
        }
        results.pnpmInstalls = [];
        for (const [s, latencyMs] of upstreamLatencies.entries()) {
          const scenario = await pnpmScenario(latencyMs, pnpmProjects[s], services, {
            upstream,
            installs: flags.installs,
            baselineDir: flags.baseline,
            count: project.count,
            log,
          });
          results.pnpmInstalls.push(scenario);
          // The first scenario (no latency, unless --upstream-latency says otherwise) keeps its old key.
          results.pnpmInstall ??= scenario;
        }
      } finally {
        for (const svc of Object.values(services)) await svc.stop();
        if (pinned) pinToCpus(`0-${cpus - 1}`, process.pid);
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
