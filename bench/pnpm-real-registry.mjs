// `npm run bench:pnpm-real -- --project DIR`: cold pnpm 12 installs of a real project against the
// registry this machine's npm is configured with, directly and through `lockwarden serve` proxying
// that same registry, alternating, in one run. The loopback scenarios of `npm run bench:proxy`
// show the proxy's own cost with an upstream 0-20 ms away; this one shows what a user sees with
// the registry they really have (its latency, its sizes, its connection limits). It needs that
// registry to be reachable, so it is a bench, never a test. The project's own lockfile is not
// used: each install resolves from the registry, as a cold `pnpm install` of a new project does.
// Besides the install times it prints the service's CPU time during each install: on a 2-core
// machine a cold install of a project with documents of tens of MB is bound by CPU (the service's
// and pnpm's), so that figure, steadier than the wall times, is what a change to the service's
// work per document moves (docs/performance.md).
//
//   --project DIR   a directory with the package.json to install (required)
//   --installs N    rounds (default 5); each round installs directly and through the proxy
//   --serve-flag F  a flag for `lockwarden serve` (repeatable), e.g. --serve-flag=--no-prefetch
//   --policy FILE   the policy (JSON) the proxy enforces (default: typosquatting only, which hides
//                   no version of a real tree: the comparison stays one of the same packages)
//   --pin           pnpm (both arms) on every CPU but the last, the service alone on the last: what
//                   the install costs when the service has a core of its own, as on its own host or
//                   on a machine with cores to spare (Linux, needs taskset; docs/performance.md)
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './ensure-built.mjs';
import { median } from './median.mjs';
import { pinToCpus } from './pin-cpu.mjs';
import { coldPnpmInstall } from './pnpm-install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    project: { type: 'string' },
    installs: { type: 'string', default: '5' },
    policy: { type: 'string' },
    'serve-flag': { type: 'string', multiple: true, default: [] },
    pin: { type: 'boolean', default: false },
  },
});
if (!flags.project) {
  console.error('usage: npm run bench:pnpm-real -- --project DIR [--installs N] [--policy FILE] [--pin]');
  process.exit(2);
}
ensureBuilt();
const installs = Number(flags.installs);
const policyId = flags.policy ? JSON.parse(await readFile(resolve(flags.policy), 'utf8')).id : 'real';
const project = resolve(flags.project);
const cpus = os.cpus().length;
if (flags.pin && cpus < 2) {
  console.error('--pin needs at least 2 CPUs');
  process.exit(2);
}
// pnpm is started by this process and inherits its CPUs; the service is pinned once it is started.
if (flags.pin) pinToCpus(cpus === 2 ? '0' : `0-${cpus - 2}`, process.pid);

/** The registry npm is configured with here (never written into this repository). */
async function configuredRegistry() {
  const out = await new Promise((done, reject) =>
    execFile('npm', ['config', 'get', 'registry'], (err, stdout) => (err ? reject(err) : done(stdout))),
  );
  return out.trim().replace(/\/?$/, '/');
}

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function pnpmInstall(registry) {
  const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-pnpm-real-'));
  try {
    await copyFile(join(project, 'package.json'), join(dir, 'package.json'));
    const ms = await coldPnpmInstall(dir, registry, { timeoutMs: 900_000 });
    const packages = (await readdir(join(dir, 'node_modules', '.pnpm'))).filter(
      (n) => n !== 'node_modules' && n !== 'lock.yaml',
    ).length;
    return { ms, packages };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh `lockwarden serve` (empty data directory: cold cache) proxying the registry. */
async function startProxy(upstream) {
  const data = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-pnpm-real-data-'));
  const policy = flags.policy ? resolve(flags.policy) : join(data, 'policy.json');
  if (!flags.policy) await writeFile(policy, JSON.stringify({ id: 'real', typosquatting: true }));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/lockwarden.js'),
      'serve',
      '--port',
      String(port),
      '--data',
      data,
      '--upstream',
      upstream,
      '--policy',
      policy,
      '--log-level',
      'warn',
      ...flags['serve-flag'],
    ],
    {
      env: { ...process.env, LOCKWARDEN_ADMIN_TOKEN: 'bench-pnpm-real' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (flags.pin) pinToCpus(cpus - 1, child.pid);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/-/lockwarden/v1/health`)).ok) break;
    } catch {}
    if (i > 200) throw new Error('lockwarden serve did not start');
    await new Promise((done) => setTimeout(done, 50));
  }
  return {
    url: `${base}/${policyId}/`,
    /** Requests the service answered, and the upstream requests it made, from its /metrics. */
    async served() {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer bench-pnpm-real' } });
      const text = await res.text();
      const sum = (metric) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
          .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      return {
        requests: sum('lockwarden_http_requests_total'),
        upstream: sum('lockwarden_upstream_request_duration_seconds_count'),
      };
    },
    /** The service's CPU time so far (user + system, ms; Linux /proc, 10 ms ticks), or NaN. */
    async cpuMs() {
      try {
        const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      } catch {
        return Number.NaN;
      }
    },
    async stop() {
      child.kill();
      await new Promise((done) => child.once('exit', done));
      await rm(data, { recursive: true, force: true });
    },
  };
}

const upstream = await configuredRegistry();
console.log(
  `pnpm 12 cold installs of ${project}/package.json against the registry npm is configured with, direct and through a fresh lockwarden serve each round (${installs} rounds, alternating which goes first)`,
);
console.log(`machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, node ${process.version}`);
if (flags.pin)
  console.log(
    `pinned: pnpm (both arms) on CPU ${cpus === 2 ? '0' : `0-${cpus - 2}`}, the service on CPU ${cpus - 1}`,
  );
const direct = [];
const proxied = [];
const counts = new Set();
const served = [];
const serviceCpu = [];
for (let round = 0; round < installs; round++) {
  const order = round % 2 ? ['proxy', 'direct'] : ['direct', 'proxy'];
  for (const arm of order) {
    if (arm === 'direct') {
      const r = await pnpmInstall(upstream);
      direct.push(r.ms);
      counts.add(`direct ${r.packages}`);
    } else {
      const proxy = await startProxy(upstream);
      try {
        const cpuBefore = await proxy.cpuMs();
        const r = await pnpmInstall(proxy.url);
        serviceCpu.push((await proxy.cpuMs()) - cpuBefore);
        proxied.push(r.ms);
        counts.add(`proxy ${r.packages}`);
        served.push(await proxy.served());
        // A client that went around the proxy would make this comparison meaningless.
        if (served.at(-1).requests < r.packages)
          throw new Error(`the proxy answered ${served.at(-1).requests} requests for ${r.packages} packages`);
      } finally {
        await proxy.stop();
      }
    }
  }
  console.log(
    `  round ${round + 1}: direct ${(direct.at(-1) / 1000).toFixed(2)} s, through lockwarden ${(proxied.at(-1) / 1000).toFixed(2)} s (${served.at(-1).requests} requests answered, ${served.at(-1).upstream} upstream; service CPU ${serviceCpu.at(-1)} ms; load ${os.loadavg()[0].toFixed(1)})`,
  );
}
const pairs = direct.map((d, i) => proxied[i] / d - 1);
console.log(`  packages installed: ${[...counts].join(', ')}`);
console.log(
  `  direct: median ${(median(direct) / 1000).toFixed(2)} s; through lockwarden: median ${(median(proxied) / 1000).toFixed(2)} s`,
);
console.log(
  `  service CPU during an install (user + system, after its start-up): median ${median(serviceCpu)} ms (${serviceCpu.join(', ')})`,
);
console.log(
  `  overhead: ${((median(proxied) / median(direct) - 1) * 100).toFixed(1)}% (medians); ${(median(pairs) * 100).toFixed(1)}% (median of per-round pairs); target within +20%`,
);
