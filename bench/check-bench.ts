// `npm run bench:check`: the start-up cost of `lockwarden check expres` under a typosquatting-only
// policy (issue 15: <= 300 ms with start-up), against a loopback fake registry that serves the
// flagged name's packument (its publish history is read). Rounds alternate between the variants so
// that a shared machine's load falls on all of them alike; each prints the median wall time and the
// median CPU time (user + system, from /proc: Linux only), which load inflates far less than wall.
//   - `node -e 0`: the floor any Node.js CLI pays on this machine at this moment;
//   - check expres, cold: an empty cache directory each run (one registry request);
//   - check expres, warm: the packument already in the cache (no request);
//   - check lodahs-free: a name that is not flagged (no HTTP stack at all).
// LOCKWARDEN_BENCH_BASELINE=/other/checkout/bin/lockwarden.js adds the same runs of another build,
// so a before/after comparison comes from one run. --rounds N (default 15).
// BENCH_CHECK_PROF=<dir> writes a V8 CPU profile of each run of this build there, for a closer look
// (profiling slows the runs: their times then say nothing).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import { makePackument } from '../test/helpers/make-packument.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 15;
const DAY = 86400000;
const now = Date.now();

/** CPU time of this process's reaped children, in ms (clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5) (cutime, cstime), counted from after the command name.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function run(argv: string[], cwd: string): Promise<{ wall: number; cpu: number; code: number }> {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0 && code !== 1) reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
      else resolve({ wall, cpu: childrenCpuMs() - cpu0, code: code ?? -1 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const registry = await startFakeRegistry({
  shape: 'mirror',
  packuments: [
    makePackument({
      name: 'expres',
      versions: Array.from({ length: 6 }, (_, i) => ({
        version: `0.0.${i}`,
        publishedAt: new Date(now - (4000 - i * 10) * DAY),
      })),
    }),
  ],
});
const work = mkdtempSync(path.join(os.tmpdir(), 'lockwarden-check-bench-'));
writeFileSync(path.join(work, 'policy.json'), JSON.stringify({ id: 'typo', typosquatting: true }));
const warmCache = path.join(work, 'warm-cache');

const builds: [string, string][] = [['this build', path.join(ROOT, 'bin/lockwarden.js')]];
if (process.env.LOCKWARDEN_BENCH_BASELINE) builds.push(['baseline', process.env.LOCKWARDEN_BENCH_BASELINE]);

const profileDir = process.env.BENCH_CHECK_PROF;
const profiling = (bin: string, variant: string) =>
  profileDir && bin === builds[0]![1]
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${path.resolve(profileDir)}`,
        `--cpu-prof-name=${variant}-${Date.now()}.cpuprofile`,
      ]
    : [];
const common = ['--policy', 'policy.json', '--registry', registry.url];
const variants: { label: string; argv: (bin: string, round: number) => string[] }[] = [
  {
    label: 'check expres, cold cache',
    argv: (bin, round) => [
      ...profiling(bin, 'cold'),
      bin,
      'check',
      'expres',
      ...common,
      '--cache-dir',
      path.join(work, `cold-${path.basename(path.dirname(path.dirname(bin)))}-${round}`),
    ],
  },
  {
    label: 'check expres, warm cache',
    argv: (bin) => [...profiling(bin, 'warm'), bin, 'check', 'expres', ...common, '--cache-dir', warmCache],
  },
  {
    label: 'check left-pad (not flagged)',
    argv: (bin) => [
      ...profiling(bin, 'left-pad'),
      bin,
      'check',
      'left-pad@1.3.0',
      ...common,
      '--cache-dir',
      warmCache,
    ],
  },
];

const results = new Map<string, { wall: number[]; cpu: number[] }>();
const record = (key: string, r: { wall: number; cpu: number }) => {
  const entry = results.get(key) ?? { wall: [], cpu: [] };
  entry.wall.push(r.wall);
  entry.cpu.push(r.cpu);
  results.set(key, entry);
};
const loads: number[] = [];
try {
  for (const [, bin] of builds) await run(variants[1]!.argv(bin, 0), work); // warm the cache
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(os.loadavg()[0]!);
    record('node -e 0', await run(['-e', '0'], work));
    // Alternate which build goes first, so neither always runs right after the floor.
    const order = round % 2 ? [...builds].reverse() : builds;
    for (const v of variants)
      for (const [name, bin] of order) {
        const r = await run(v.argv(bin, round), work);
        if (r.code !== 1 && v.label.includes('expres')) throw new Error(`${name}: expres not blocked`);
        record(`${v.label} (${name})`, r);
      }
  }
} finally {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
}

console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, node ${process.version}; ` +
    `load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run ` +
    `(a shared machine inflates wall times; CPU time much less)`,
);
console.log(`${ROUNDS} alternating rounds; medians:`);
for (const [label, { wall, cpu }] of results)
  console.log(
    `  ${label.padEnd(48)} wall ${median(wall).toFixed(0).padStart(5)} ms   cpu ${median(cpu).toFixed(0).padStart(4)} ms`,
  );
