// The npm install rounds of `npm run bench:proxy`: direct and through a fresh service per round.
import os from 'node:os';
import { resolve } from 'node:path';
import { median } from './median.mjs';
import { npmInstall, settle } from './npm-install.mjs';
import { warmUp } from './replay-install.mjs';
import { startService } from './start-service.mjs';

/**
 * `freshService()` stops the harness's service and starts a new one in its place (the harness
 * keeps it, and stops the last one at the end); each round installs through a fresh one.
 */
export async function npmInstallRounds({ freshService, upstream, project, many, installs, log }) {
  let child;
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
    for (let round = 0; round < installs; round++) {
      loads.push(os.loadavg()[0]);
      child = await freshService();
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
  log(`\nnpm install of a ${project.count}-package project, cold caches (${installs} rounds, median):`);
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
  const install = {
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
  install.pairedOverhead = paired;
  install.cpuMs = cpu;
  log(
    `  CPU per install (median): service ${median(cpu.service).toFixed(0)} ms; fake upstream ${median(cpu.upstreamDirect).toFixed(0)} ms direct, ${median(cpu.upstreamProxied).toFixed(0)} ms proxied`,
  );
  log(
    `  overhead: ${((mp / md - 1) * 100).toFixed(1)}% (medians); ${(paired * 100).toFixed(1)}% (median of per-round pairs)`,
  );
  return install;
}

function cpuMs(u) {
  return (u.user + u.system) / 1000;
}
