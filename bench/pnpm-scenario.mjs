// The pnpm install rounds of `npm run bench:proxy`.
import os from 'node:os';
import { join } from 'node:path';
import { median } from './median.mjs';
import { settle } from './npm-install.mjs';
import { pnpmInstall } from './pnpm-install.mjs';

/**
 * Cold pnpm 12 installs, direct and through the proxy (and the baseline build), with every
 * answer of the fake upstream held back `latencyMs` first: a real registry is never 0 ms away
 * (the audit bench models it with 20 ms per request), and with none the service's own CPU per
 * request is all that separates the arms. The services run through all rounds, as a deployed
 * one does, and each round installs a project of new names: a cold cache in a warm process.
 */
export async function pnpmScenario(
  latencyMs,
  projects,
  services,
  { upstream, installs, baselineDir, count, log },
) {
  log(
    `\npnpm 12 install of a ${count}-package project, cold store and caches, upstream answering after ${latencyMs} ms (${installs} rounds, new names each, median):`,
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
  // The shorter latencies show the service's own CPU per request, which a registry's latency
  // hides; the README reads the target with the 150 ms scenario and bench:pnpm-real as well.
  const judged =
    latencyMs >= 100 ? '' : ' (read the 150 ms scenario and bench:pnpm-real too: see the README)';
  log(`  direct from the fake upstream: ${seconds(direct)}`);
  log(`  through lockwarden (block):   ${seconds(proxied)}`);
  log(
    `  upstream requests per install (median): ${median(upstreamRequests.direct)} direct, ${median(upstreamRequests.proxy)} through lockwarden`,
  );
  if (baseline) {
    const pairedBase = median(direct.map((d, i) => baseline[i] / d - 1));
    out.baseline = {
      dir: baselineDir,
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
}
