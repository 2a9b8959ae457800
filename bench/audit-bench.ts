// `npm run bench`: lockwarden audit against loopback fakes that add latency to every request.
//   npm run bench                        generated 2,000-package lockfile, then ../shared/lockfiles/* if present
//   npm run bench -- <dir> [<dir>...]    also (or only, with --only-given) real project directories
//   npm run bench -- --generated         only the generated lockfile
//   npm run bench -- --issue18           only the outage and warm-after-a-day benches
// It also runs bench/lockfile-formats-bench.ts (reading a 2,000-package lockfile of each format).
// Prints wall time cold (empty cache) and warm (second run, cache on disk), upstream requests and
// bytes, and peak RSS, with the machine noted. Targets (issue #2): cold <= 10 s, warm <= 2 s,
// peak RSS <= 400 MB; `lockwarden check` of one name (typosquatting only) < 300 ms.
// Issue #18: the Origami lockfile's warm audit a day after the cold one (the clock simulated with
// --now) <= 2 s with the cache directory <= 30 MB after it; and an outage of the downloads API
// (hanging, or a host that does not resolve) costs the generated 2,000-package audit with a
// popularity floor at most 1.5x the same audit without the floor, with 0 registry facts lost.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readLockfile } from '../src/lockfile/read-lockfile.js';
import { startFakeDownloads } from '../test/helpers/fake-downloads.js';
import { startFakeGitHub } from '../test/helpers/fake-github.js';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import type { FakeServer, RecordedRequest } from '../test/helpers/fake-upstream.js';
import { writeProject } from '../test/helpers/make-lockfile.js';
import { type FullPackument, makePackument } from '../test/helpers/make-packument.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bench/child-cli.mjs');
const REPORT_CPU = pathToFileURL(path.join(ROOT, 'bench/report-cpu.mjs')).href;
const LATENCY_MS = 20;
const NOW = new Date();
const DAY = 86400000;

const args = process.argv.slice(2);
const onlyGiven = args.includes('--only-given');
// --generated: the generated 2,000-package lockfile only (no real lockfiles, no Action bench).
const generatedOnly = args.includes('--generated');
// --profile DIR: write V8 CPU profiles of the runs there, in cold/ and warm/ (open them in Chrome DevTools).
const profileDir = args.includes('--profile')
  ? path.resolve(args[args.indexOf('--profile') + 1] ?? 'profiles')
  : undefined;
const givenDirs = args.filter(
  (a, i) =>
    !a.startsWith('--') && !['--profile', '--baseline', '--rounds', '--policy'].includes(args[i - 1] ?? ''),
);
// --issue18: only the outage and the warm-after-a-day benches (generated world and Origami);
// with --generated, only the outage bench.
const issue18Only = args.includes('--issue18');
// --cold-only: the cold and warm audits (and with --baseline, the comparisons) alone: no outage,
// day-after, check or lockfile-format benches. --policy default|all: only that policy.
const coldOnly = args.includes('--cold-only');
const onlyPolicy = args.includes('--policy') ? args[args.indexOf('--policy') + 1] : undefined;
// --baseline DIR: a built checkout of an earlier commit (its lib/ and bench/child-cli.mjs); each
// workload's cold audit then runs --rounds times (default 5) with each build, alternating, on fresh
// cache directories, so the before/after comparison shares the machine's load of the moment.
const baselineDir = args.includes('--baseline')
  ? path.resolve(args[args.indexOf('--baseline') + 1] ?? '.')
  : undefined;
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 5;

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Deterministic pseudo-random numbers, so every run benchmarks the same documents. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Workload {
  label: string;
  dir: string;
  packuments: FullPackument[];
}

function packumentsFor(entries: { name: string; version: string }[], seed: number): FullPackument[] {
  const rand = rng(seed);
  const byName = new Map<string, Set<string>>();
  for (const e of entries) {
    const set = byName.get(e.name) ?? new Set<string>();
    set.add(e.version);
    byName.set(e.name, set);
  }
  const docs: FullPackument[] = [];
  for (const [name, pinned] of byName) {
    const r = rand();
    // Most documents are tens of KB; some hundreds; a few MB (long-lived popular packages).
    const targetBytes =
      r < 0.02
        ? 1_000_000 + rand() * 4_000_000
        : r < 0.15
          ? 100_000 + rand() * 400_000
          : 10_000 + rand() * 70_000;
    // 5% of packages published something inside the cooling-off window.
    const young = rand() < 0.05;
    const versions = [...pinned].map((version, i) => ({
      version,
      publishedAt: new Date(NOW.getTime() - (young && i === 0 ? 2 : 30 + rand() * 900) * DAY),
      repository: `github:bench/${name.replace(/^@/, '').replace('/', '-')}`,
    }));
    docs.push(makePackument({ name, versions, targetBytes }));
  }
  return docs;
}

function generatedWorkload(work: string): Workload {
  const rand = rng(42);
  const deps = Array.from({ length: 2000 }, (_, i) => {
    const name =
      i % 10 === 0
        ? `@bench-scope${i % 7}/pkg-${i}`
        : `bench-lib-${i.toString(36)}-${Math.floor(rand() * 1e6).toString(36)}`;
    return { name, version: `${1 + (i % 5)}.${i % 13}.${i % 3}` };
  });
  const dir = writeProject(path.join(work, 'generated'), { name: 'bench-app', deps });
  return { label: 'generated 2,000 packages', dir, packuments: packumentsFor(deps, 7) };
}

async function realWorkload(work: string, src: string): Promise<Workload> {
  const dir = path.join(work, path.basename(src));
  mkdirSync(dir, { recursive: true });
  // Copy the project's lockfile and package.json files (workspaces need theirs) without touching the source.
  const copy = (from: string, to: string) => {
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const a = path.join(from, entry.name);
      const b = path.join(to, entry.name);
      if (entry.isDirectory()) {
        mkdirSync(b, { recursive: true });
        copy(a, b);
      } else if (/^(package\.json|package-lock\.json|npm-shrinkwrap\.json)$/.test(entry.name)) {
        writeFileSync(b, readFileText(a));
      }
    }
  };
  copy(src, dir);
  const inventory = await readLockfile(dir);
  return {
    label: `${path.basename(src)} (${inventory.entries.length} name@version)`,
    dir,
    packuments: packumentsFor(inventory.entries, 11),
  };
}

function readFileText(file: string): string {
  return readFileSync(file, 'utf8');
}

interface RunResult {
  ms: number;
  /** performance.now() at spawn and at exit, to place the upstream requests within the run. */
  startedAt: number;
  endedAt: number;
  code: number;
  maxRssMb: number;
  /** CPU time (user, system) of the CLI process, from bench/report-cpu.mjs. */
  cpuMs: { user: number; sys: number };
  summary: string;
  /** The JSON report, when the run printed one. */
  report?: BenchReport;
  /** Progress lines the CLI printed on stderr (no terminal: one every 10 s on long runs). */
  progress: string[];
  /** Upstream bytes per source, from the CLI's --stats line. */
  bytes: string;
}

function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
  cli = CLI,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const startedAt = performance.now();
    const child = spawn(process.execPath, ['--import', REPORT_CPU, ...nodeArgs, cli, ...argv], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const rss = /LOCKWARDEN_BENCH_MAXRSS_KB=(\d+)/.exec(err);
      const cpu = /LOCKWARDEN_BENCH_CPU_USER_MS=(\d+) SYS_MS=(\d+)/.exec(err);
      let summary = '';
      let report: BenchReport | undefined;
      try {
        report = JSON.parse(out) as BenchReport;
        const s = report.summary;
        summary = `${s.checked} checked, ${s.blocked} blocked, ${s.alerts} alerts, ${s.unavailable} unavailable, ${s.skipped} skipped`;
      } catch {
        summary = `no JSON report: ${err.trim().split('\n')[0]}`;
      }
      const bytes = [...err.matchAll(/(registry|downloads|tags): \d+ requests, (\d+) bytes/g)]
        .map((m) => `${m[1]} ${(Number(m[2]) / 1e6).toFixed(1)} MB`)
        .join(', ');
      resolve({
        ms,
        startedAt,
        endedAt: performance.now(),
        code: code ?? -1,
        maxRssMb: rss ? Number(rss[1]) / 1024 : Number.NaN,
        cpuMs: cpu ? { user: Number(cpu[1]), sys: Number(cpu[2]) } : { user: Number.NaN, sys: Number.NaN },
        summary,
        bytes,
        progress: err.split('\n').filter((l) => l.startsWith('lockwarden: ') && l.includes(' packages')),
        ...(report ? { report } : {}),
      });
    });
  });
}

interface BenchReport {
  summary: { checked: number; blocked: number; alerts: number; unavailable: number; skipped: number };
  findings: { outcome: string; source?: string; rule: string }[];
}

function withLatency<T extends FakeServer>(server: T): T {
  server.fault({ kind: 'delay', ms: LATENCY_MS });
  return server;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function benchWorkload(work: string, w: Workload, policyFile: string, policyLabel: string) {
  const registry = withLatency(await startFakeRegistry({ shape: 'public', packuments: w.packuments }));
  registry.precompute();
  const counts = Object.fromEntries(w.packuments.map((p, i) => [p.name, 500 + ((i * 7919) % 100000)]));
  const downloads = withLatency(await startFakeDownloads({ counts }));
  const repos = Object.fromEntries(
    w.packuments.map((p) => [
      String((p.repository as { url: string }).url)
        .replace(/^git\+https:\/\/github\.com\//, '')
        .replace(/\.git$/, ''),
      { tags: Object.keys(p.versions).map((v) => `v${v}`) },
    ]),
  );
  const github = withLatency(await startFakeGitHub({ repos }));
  const cacheDir = mkdtempSync(path.join(work, 'cache-'));
  const argv = [
    'audit',
    w.dir,
    '--json',
    '--policy',
    policyFile,
    '--registry',
    registry.url,
    '--downloads-url',
    downloads.url,
    '--github-api-url',
    github.url,
    '--cache-dir',
    cacheDir,
    '--stats',
  ];
  const env = { GITHUB_TOKEN: 'bench-token' };
  const reqs = () => registry.requests.length + downloads.requests.length + github.requests.length;
  const r0 = reqs();
  const profile = (run: string) =>
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, run)] : [];
  const fakesCpu = process.cpuUsage();
  const cold = await runCli(argv, env, profile('cold'));
  const fakesCpuMs = cpuMs(process.cpuUsage(fakesCpu));
  const coldRequests = {
    registry: registry.requests.length,
    downloads: downloads.requests.length,
    github: github.requests.length,
  };
  const r1 = reqs();
  const warm = await runCli(argv, env, profile('warm'));
  const warmRequests = reqs() - r1;
  const docBytes = w.packuments.reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0);
  console.log(`\n## ${w.label}, policy ${policyLabel}`);
  console.log(
    `  documents: ${w.packuments.length} packuments, ${mb(docBytes)} as full JSON; +${LATENCY_MS} ms per upstream request`,
  );
  console.log(
    `  cold: ${fmt(cold.ms)}  peak RSS ${cold.maxRssMb.toFixed(0)} MB  exit ${cold.code}  (${cold.summary})`,
  );
  console.log(
    `        upstream requests: registry ${coldRequests.registry}, downloads ${coldRequests.downloads}, GitHub ${coldRequests.github} (total ${r1 - r0}); bytes received: ${cold.bytes || 'n/a'}`,
  );
  // The fakes run in this process, on the same cores as the CLI: their CPU time is not the CLI's.
  console.log(`        the fakes' CPU time during the cold run: ${fmt(fakesCpuMs)}`);
  console.log(
    `  warm: ${fmt(warm.ms)}  peak RSS ${warm.maxRssMb.toFixed(0)} MB  exit ${warm.code}  upstream requests: ${warmRequests}`,
  );
  // After the runs above, whose request counts would otherwise include these.
  // Each run gets the fake GitHub API's full rate budget back: ten cold runs with tag checks ask it
  // for 20,000 tags, four times its hourly limit, and an exhausted limit makes facts unavailable.
  if (baselineDir)
    await compareCold(
      work,
      argv,
      env,
      policyLabel,
      () => github.setRateLimit({ remaining: 5000, resetEpochSec: 1_900_000_000 }),
      () => [registry.requests, downloads.requests, github.requests],
    );
  await Promise.all([registry.close(), downloads.close(), github.close()]);
  rmSync(cacheDir, { recursive: true, force: true });
  return { cold, warm };
}

/** Cold audits with the baseline build and this one, alternating, each on an empty cache. */
async function compareCold(
  work: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  policyLabel: string,
  beforeRun: () => void,
  requestLists: () => RecordedRequest[][],
) {
  const cacheAt = argv.indexOf('--cache-dir') + 1;
  type Build = 'baseline' | 'now';
  const times: Record<Build, number[]> = { baseline: [], now: [] };
  const cpu: Record<Build, number[]> = { baseline: [], now: [] };
  const rss: Record<Build, number[]> = { baseline: [], now: [] };
  const requests: Record<Build, string> = { baseline: '', now: '' };
  // Where the wall time goes: start-up (spawn to first upstream request), fetching (first to last
  // request), and the end (last request to exit).
  const phases: Record<Build, [number, number, number][]> = { baseline: [], now: [] };
  let summaries = '';
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? (['baseline', 'now'] as const) : (['now', 'baseline'] as const)) {
      const cacheDir = mkdtempSync(path.join(work, `cache-${which}-`));
      const runArgv = argv.map((a, i) => (i === cacheAt ? cacheDir : a));
      const cli = which === 'baseline' ? path.join(baselineDir!, 'bench/child-cli.mjs') : CLI;
      beforeRun();
      const before = requestLists().map((l) => l.length);
      // --profile: each build's first round is profiled too, to compare the two builds' profiles.
      const prof =
        profileDir && round < 2
          ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `compare-${which}`)]
          : [];
      const r = await runCli(runArgv, env, prof, cli);
      const lists = requestLists();
      const after = lists.map((l) => l.length);
      const seen = lists.flatMap((l, k) => l.slice(before[k]).map((q) => q.receivedAt));
      const first = Math.min(...seen);
      const last = Math.max(...seen);
      phases[which].push([first - r.startedAt, last - first, r.endedAt - last]);
      rmSync(cacheDir, { recursive: true, force: true });
      times[which].push(r.ms);
      cpu[which].push(r.cpuMs.user + r.cpuMs.sys);
      rss[which].push(r.maxRssMb);
      requests[which] =
        `registry ${after[0]! - before[0]!}, downloads ${after[1]! - before[1]!}, GitHub ${after[2]! - before[2]!}`;
      // Every run's outcome: a comparison of runs that saw different facts would mean nothing.
      summaries += `\n    round ${round + 1}, ${which}: ${r.summary}; CPU ${fmt(r.cpuMs.user)} user + ${fmt(r.cpuMs.sys)} sys`;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`\n## cold audit, baseline (${baselineDir}) against this build, policy ${policyLabel}`);
  console.log(`  ${rounds} rounds, alternating which build goes first; load average ${load()}${summaries}`);
  for (const which of ['baseline', 'now'] as const) {
    console.log(
      `  ${which.padEnd(8)} median ${fmt(median(times[which]))} (${times[which].map(fmt).join(', ')}); CPU (user+sys) median ${fmt(median(cpu[which]))} (${cpu[which].map(fmt).join(', ')}); peak RSS median ${median(rss[which]).toFixed(0)} MB; upstream requests of the last run: ${requests[which]}`,
    );
  }
  for (const which of ['baseline', 'now'] as const) {
    const part = (k: number) => fmt(median(phases[which].map((p) => p[k]!)));
    console.log(
      `  ${which.padEnd(8)} medians: start-up to first request ${part(0)}, first to last request ${part(1)}, last request to exit ${part(2)}`,
    );
  }
  const pairs = (xs: Record<Build, number[]>) => xs.now.map((t, i) => t / xs.baseline[i]! - 1);
  console.log(
    `  this build vs baseline (median of per-round pairs): wall ${(median(pairs(times)) * 100).toFixed(1)}%, CPU ${(median(pairs(cpu)) * 100).toFixed(1)}%`,
  );
}

/** Bytes of every file under `dir`. */
function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

async function startWorld(w: Workload) {
  const registry = withLatency(await startFakeRegistry({ shape: 'mirror', packuments: w.packuments }));
  registry.precompute();
  const counts = Object.fromEntries(w.packuments.map((p, i) => [p.name, 500 + ((i * 7919) % 100000)]));
  const downloads = withLatency(await startFakeDownloads({ counts }));
  return { registry, downloads, close: () => Promise.all([registry.close(), downloads.close()]) };
}

/**
 * The warm audit a day after the cold one, against a registry that sends no ETag (like the
 * mirror): facts that never change come from the fact cache, and the day-old documents are
 * pruned when the run ends.
 */
async function benchWarmAfterDay(work: string, w: Workload, policyFile: string): Promise<void> {
  const world = await startWorld(w);
  const cacheDir = mkdtempSync(path.join(work, 'cache-day-'));
  const argv = (now: Date) => [
    'audit',
    w.dir,
    '--json',
    '--policy',
    policyFile,
    '--registry',
    world.registry.url,
    '--downloads-url',
    world.downloads.url,
    '--cache-dir',
    cacheDir,
    '--now',
    now.toISOString(),
  ];
  const dayLater = new Date(NOW.getTime() + 25 * 3600 * 1000);
  const requests = () => world.registry.requests.length + world.downloads.requests.length;
  const cold = await runCli(argv(NOW));
  const afterCold = dirBytes(cacheDir);
  const r0 = world.registry.requests.length;
  const d0 = world.downloads.requests.length;
  const warm = await runCli(argv(dayLater));
  const afterWarm = dirBytes(cacheDir);
  const r1 = requests();
  const again = await runCli(argv(dayLater));
  console.log(`\n## ${w.label}: warm a day after the cold audit (registry without ETags, clock moved 25 h)`);
  console.log(
    `  cold: ${fmt(cold.ms)} exit ${cold.code} (${cold.summary}); cache directory ${mb(afterCold)}`,
  );
  console.log(
    `  warm a day later: ${fmt(warm.ms)} (target <= 2 s) exit ${warm.code}; upstream requests: registry ${world.registry.requests.length - r0}, downloads ${world.downloads.requests.length - d0} (only counts under twice the floor are asked again after 12 h)`,
  );
  console.log(`  cache directory after it: ${mb(afterWarm)} (target <= 30 MB)`);
  console.log(
    `  once more the same day: ${fmt(again.ms)}, upstream requests: ${requests() - r1}; same findings: ${JSON.stringify(warm.report?.findings) === JSON.stringify(again.report?.findings)}`,
  );
  await world.close();
  rmSync(cacheDir, { recursive: true, force: true });
}

/**
 * An outage of the downloads API costs once: the same cold audit with a popularity floor while
 * the downloads API hangs (accepts connections, never answers) or its host does not resolve,
 * against the floor off, in the same run. Registry facts must not suffer from it.
 */
async function benchOutage(work: string, w: Workload): Promise<void> {
  const world = await startWorld(w);
  const hanging = await startFakeDownloads({});
  hanging.fault({ kind: 'delay', ms: 3_600_000 });
  const policy = (floor: number) => {
    const file = path.join(work, `outage-${floor}.json`);
    writeFileSync(
      file,
      JSON.stringify({ id: 'outage', coolingOffDays: 7, minWeeklyDownloads: floor, onUnavailable: 'block' }),
    );
    return file;
  };
  const audit = async (floor: number, downloadsUrl: string) => {
    const cacheDir = mkdtempSync(path.join(work, 'cache-outage-'));
    const r = await runCli([
      'audit',
      w.dir,
      '--json',
      '--policy',
      policy(floor),
      '--registry',
      world.registry.url,
      '--downloads-url',
      downloadsUrl,
      '--cache-dir',
      cacheDir,
    ]);
    rmSync(cacheDir, { recursive: true, force: true });
    const findings = r.report?.findings ?? [];
    const registryLost = findings.filter(
      (f) => f.outcome === 'unavailable' && f.source === 'registry',
    ).length;
    const downloadsLost = findings.filter(
      (f) => f.outcome === 'unavailable' && f.rule === 'popularity',
    ).length;
    return { ...r, registryLost, downloadsLost };
  };
  // The baseline runs before and after the outages: the machine is shared, so its mean is fairer.
  const off1 = await audit(0, world.downloads.url);
  const hang = await audit(1000, hanging.url);
  const dns = await audit(1000, 'http://downloads.invalid/');
  const off2 = await audit(0, world.downloads.url);
  const base = (off1.ms + off2.ms) / 2;
  console.log(`\n## outage of the downloads API: ${w.label}, cooling-off 7 d, onUnavailable: block, cold`);
  console.log(
    `  popularity floor off: ${fmt(off1.ms)} and ${fmt(off2.ms)} (before and after), registry facts unavailable: ${off1.registryLost + off2.registryLost}`,
  );
  for (const [label, r] of [
    ['floor 1,000/week, downloads API hanging', hang],
    ['floor 1,000/week, downloads host not resolving', dns],
  ] as const) {
    console.log(
      `  ${label}: ${fmt(r.ms)} = ${(r.ms / base).toFixed(2)}x (target <= 1.5x); registry facts unavailable: ${r.registryLost} (target 0); popularity unavailable: ${r.downloadsLost}; exit ${r.code}`,
    );
  }
  console.log(`  requests the hanging downloads API received: ${hanging.requests.length}`);
  for (const line of hang.progress) console.log(`    hanging, progress: ${line}`);
  await Promise.all([world.close(), hanging.close()]);
}

async function benchCheck(work: string): Promise<void> {
  const policy = path.join(work, 'typosquat-only.json');
  writeFileSync(policy, JSON.stringify({ id: 'typo', typosquatting: true }));
  const times: number[] = [];
  for (let i = 0; i < 7; i++)
    times.push((await runCli(['check', 'expres', '--policy', policy, '--json'])).ms);
  times.sort((a, b) => a - b);
  console.log(`\n## lockwarden check expres (typosquatting only, including Node start-up)`);
  console.log(
    `  median ${fmt(times[3]!)}, min ${fmt(times[0]!)}, max ${fmt(times[6]!)} over 7 runs (target < 300 ms)`,
  );
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lockwarden-bench-'));
try {
  console.log(`# lockwarden audit benchmark\nmachine: ${machine()}\ndate: ${NOW.toISOString()}`);
  const policies: [string, Record<string, unknown>][] = [
    [
      'cooling-off 7 d + popularity + typosquatting',
      { id: 'bench', coolingOffDays: 7, minWeeklyDownloads: 100, typosquatting: true },
    ],
    [
      'all guardrails incl. suspicious-version (GitHub API)',
      {
        id: 'bench-all',
        coolingOffDays: 7,
        minWeeklyDownloads: 100,
        typosquatting: true,
        suspiciousVersion: true,
      },
    ],
  ];
  const policyFiles = policies.map(([label, p]) => {
    const file = path.join(work, `${p.id}.json`);
    writeFileSync(file, JSON.stringify(p));
    return [label, file] as const;
  });
  const workloads: Workload[] = [];
  if (!onlyGiven) workloads.push(generatedWorkload(work));
  const shared = path.resolve(ROOT, '../shared/lockfiles');
  const realDirs = [...givenDirs.map((d) => path.resolve(d))];
  if (!onlyGiven && !generatedOnly && existsSync(shared)) {
    for (const d of readdirSync(shared, { withFileTypes: true }))
      if (d.isDirectory() && (!issue18Only || d.name.includes('origami')))
        realDirs.push(path.join(shared, d.name));
  }
  for (const d of realDirs) workloads.push(await realWorkload(work, d));
  for (const w of issue18Only ? [] : workloads) {
    const wanted = policyFiles.filter(
      (_, i) => onlyPolicy === undefined || ['default', 'all'][i] === onlyPolicy,
    );
    for (const [label, file] of w === workloads[0] ? wanted : wanted.slice(0, 1)) {
      await benchWorkload(work, w, file, label);
    }
  }
  const generated = workloads.find((w) => w.label.startsWith('generated'));
  if (generated && !onlyGiven && !coldOnly) await benchOutage(work, generated);
  const origami = workloads.find((w) => w.label.includes('origami'));
  if (origami && !coldOnly) await benchWarmAfterDay(work, origami, policyFiles[0]![1]);
  if (!issue18Only && !coldOnly) await benchCheck(work);
  if (!onlyGiven && !issue18Only && !coldOnly) {
    // Reading pnpm, yarn and bun lockfiles (and npm's) of 2,000 packages, in its own process.
    await new Promise<void>((resolve) => {
      spawn(process.execPath, [path.join(ROOT, 'bench/run.mjs'), 'bench/lockfile-formats-bench.ts'], {
        cwd: ROOT,
        stdio: 'inherit',
      }).on('close', () => resolve());
    });
  }
  const actionBench = path.join(ROOT, 'bench/action-bench.mjs');
  if (!onlyGiven && !generatedOnly && !issue18Only && !coldOnly && existsSync(actionBench)) {
    console.log('\n# GitHub Action benchmark');
    await new Promise<void>((resolve) => {
      spawn(process.execPath, [actionBench], { stdio: 'inherit' }).on('close', () => resolve());
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
