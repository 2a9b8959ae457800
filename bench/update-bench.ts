// `npm run bench:update`: lockwarden update against a loopback fake registry that adds latency to
// every request (the built CLI in a child process, cold cache).
//   1. update of a generated 2,000-entry lockfile, every package one minor behind and its newest
//      release inside the cooling-off window (target: cold <= 15 s), with semverHonesty off and at
//      its default (alert, which compares the two tarballs of every update);
//   2. semver honesty over 20 updated packages with type declarations (target: cold <= 10 s).
// Prints wall time, CPU time, peak RSS, upstream requests and the load average; the machine is
// noted. Colleagues share this machine: compare figures from one run, not across runs, and use
// --baseline DIR (a checkout of the code before a change, built) to run before and after in turn.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import { writeProject } from '../test/helpers/make-lockfile.js';
import { type FullPackument, makePackument } from '../test/helpers/make-packument.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bench/child-cli.mjs');
// --baseline DIR: another checkout with a built lib/ (e.g. main before a change): every update is
// also run with it, alternating with this one, so before and after share the machine's load.
const baselineAt = process.argv.indexOf('--baseline');
const BASELINE_CLI =
  baselineAt > 0 ? path.join(path.resolve(process.argv[baselineAt + 1]!), 'bench/child-cli.mjs') : undefined;
const LATENCY_MS = 20;
// --profile DIR: V8 CPU profiles of the CLI runs (open them in Chrome DevTools).
const profileAt = process.argv.indexOf('--profile');
const PROFILE =
  profileAt > 0
    ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.argv[profileAt + 1] ?? 'profiles')]
    : [];
const NOW = new Date();
const DAY = 86400000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Run {
  ms: number;
  code: number;
  maxRssMb: number;
  cpuMs: number;
  stdout: string;
  stderr: string;
}

function runCli(argv: string[], cli = CLI): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...PROFILE, cli, ...argv], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = /LOCKWARDEN_BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
      const cpu = /LOCKWARDEN_BENCH_CPU_MS=(\d+)/.exec(stderr);
      resolve({
        cpuMs: cpu ? Number(cpu[1]) : Number.NaN,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        code: code ?? -1,
        maxRssMb: rss ? Number(rss[1]) / 1024 : Number.NaN,
        stdout,
        stderr,
      });
    });
  });
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

/**
 * The audit bench's generated lockfile, shaped for updating: 2,000 packages pinned at 1.0.0 with a
 * newer 1.1.0; as in the audit bench, 5% published something inside the cooling-off window (their
 * 1.2.0 is two days old) and document sizes run from tens of KB to a few MB.
 */
function generated(directCount?: number): Workload {
  const rand = rng(42);
  const countAt = process.argv.indexOf('--count');
  const count = countAt > 0 ? Number(process.argv[countAt + 1]) : 2000;
  const deps = Array.from({ length: count }, (_, i) => ({
    name: i % 10 === 0 ? `@bench-scope${i % 7}/upd-${i}` : `bench-upd-${i.toString(36)}`,
    version: '1.0.0',
  }));
  // Tree-shaped: the first `directCount` packages are the root's dependencies and share the rest
  // out among them as their own dependencies (hoisted, as npm lays them out).
  const children = new Map<string, Record<string, string>>();
  if (directCount !== undefined) {
    for (let i = directCount; i < deps.length; i++) {
      const parent = deps[i % directCount]!.name;
      children.set(parent, { ...children.get(parent), [deps[i]!.name]: '^1.0.0' });
    }
  }
  const packuments = deps.map(({ name }) => {
    const r = rand();
    const targetBytes =
      r < 0.02
        ? 1_000_000 + rand() * 4_000_000
        : r < 0.15
          ? 100_000 + rand() * 400_000
          : 10_000 + rand() * 70_000;
    const young = rand() < 0.05;
    const own = children.get(name);
    const dependencies = own ? { dependencies: own } : {};
    return makePackument({
      name,
      targetBytes,
      versions: [
        { version: '1.0.0', publishedAt: ago(400), ...dependencies },
        { version: '1.1.0', publishedAt: ago(60), ...dependencies },
        ...(young ? [{ version: '1.2.0', publishedAt: ago(2), ...dependencies }] : []),
      ],
    });
  });
  const root = deps.slice(0, directCount ?? deps.length);
  return {
    deps: deps.map((d) => (children.has(d.name) ? { ...d, dependencies: children.get(d.name)! } : d)),
    packuments,
    rootDependencies: Object.fromEntries(root.map((d) => [d.name, `^${d.version}`])),
  };
}

/** 20 packages with a few hundred lines of declarations each; every third one breaks something. */
function typedPackages(): Workload {
  const decl = (i: number, minor: number, breaking: boolean) => {
    const lines: string[] = [];
    for (let k = 0; k < 60; k++) {
      if (breaking && k === 7) continue;
      lines.push(
        `export interface Options${k} { a${k}?: string; b${k}${breaking && k === 3 ? '' : '?'}: number; nested?: { deep: Array<Record<string, Options${(k + 1) % 60}>> } }`,
        `export declare function fn${k}(x: string, opts?: Options${k}): Promise<Options${k}>;`,
        `export declare class Thing${k} { constructor(name: string); run(input: Options${k}): void; readonly size: number }`,
        `export type Mode${k} = "a" | "b" | "c"${minor > 0 ? ` | "d${minor}"` : ''};`,
      );
    }
    return `// typed-pkg-${i}\n${lines.join('\n')}\n`;
  };
  const deps = Array.from({ length: 20 }, (_, i) => ({ name: `typed-pkg-${i}`, version: '1.0.0' }));
  const packuments = deps.map(({ name }, i) =>
    makePackument({
      name,
      versions: ['1.0.0', '1.1.0'].map((version, v) => ({
        version,
        publishedAt: ago(v === 0 ? 300 : 30),
        extra: { types: 'dist/index.d.ts', main: 'dist/index.js' },
        files: {
          'dist/index.d.ts': decl(i, v, v === 1 && i % 3 === 0),
          'dist/index.js': 'module.exports = {};\n',
        },
      })),
    }),
  );
  return { deps, packuments };
}

interface Workload {
  deps: { name: string; version: string; dependencies?: Record<string, string> }[];
  packuments: FullPackument[];
  rootDependencies?: Record<string, string>;
}

async function bench(
  label: string,
  work: string,
  workload: Workload,
  policies: [string, Record<string, unknown>][],
) {
  const registry = await startFakeRegistry({ shape: 'public', packuments: workload.packuments });
  registry.precompute();
  registry.fault({ kind: 'delay', ms: LATENCY_MS });
  console.log(`\n## ${label}: ${workload.deps.length} packages, +${LATENCY_MS} ms per upstream request`);
  try {
    for (const [policyLabel, policy] of policies) {
      const dir = writeProject(mkdtempSync(path.join(work, 'project-')), {
        name: 'bench-app',
        deps: workload.deps,
        rootDependencies:
          workload.rootDependencies ??
          Object.fromEntries(workload.deps.map((d) => [d.name, `^${d.version}`])),
      });
      const policyFile = path.join(dir, 'policy.json');
      writeFileSync(policyFile, JSON.stringify(policy));
      if (policy === policies[0]![1]) {
        // The same project audited cold in the same run: the machine is shared, so the update's
        // figure means most next to this one.
        const audit = await runCli([
          'audit',
          dir,
          '--json',
          '--policy',
          policyFile,
          '--registry',
          registry.url,
          '--cache-dir',
          mkdtempSync(path.join(work, 'cache-')),
        ]);
        console.log(
          `  reference, audit of the same lockfile: cold ${fmt(audit.ms)}  CPU ${fmt(audit.cpuMs)}  peak RSS ${audit.maxRssMb.toFixed(0)} MB  (load average ${os.loadavg()[0]!.toFixed(1)})`,
        );
      }
      for (const [who, cli] of BASELINE_CLI
        ? ([
            ['baseline', BASELINE_CLI],
            ['this build', CLI],
          ] as const)
        : ([['', CLI]] as const)) {
        // Each run updates its own copy of the project, from the same lockfile.
        const project = who === '' ? dir : mkdtempSync(path.join(work, 'copy-'));
        if (project !== dir) {
          for (const f of ['package.json', 'package-lock.json', 'policy.json'])
            writeFileSync(path.join(project, f), readFileSync(path.join(dir, f)));
        }
        const cacheDir = mkdtempSync(path.join(work, 'cache-'));
        const before = registry.requests.length;
        const r = await runCli(
          [
            'update',
            project,
            '--json',
            '--policy',
            policyFile,
            '--registry',
            registry.url,
            '--cache-dir',
            cacheDir,
          ],
          cli,
        );
        let summary = r.stderr.split('\n')[0] ?? '';
        try {
          const out = JSON.parse(r.stdout);
          const semver = (out.semver as unknown[]).length;
          summary = `${out.updated.length} updated, ${out.skipped.length} skipped, ${semver} semver findings`;
          if (semver > 0) summary += `, e.g. "${out.semver[0].message}"`;
        } catch {
          // summary stays the first line of stderr
        }
        const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8'));
        const moved = Object.values(lock.packages as Record<string, { version?: string }>).filter(
          (p) => p.version === '1.1.0',
        ).length;
        console.log(
          `  ${policyLabel}${who ? ` [${who}]` : ''}: cold ${fmt(r.ms)}  CPU ${fmt(r.cpuMs)}  peak RSS ${r.maxRssMb.toFixed(0)} MB  exit ${r.code}  (${summary}; ${moved} lockfile entries at 1.1.0; load average ${os.loadavg()[0]!.toFixed(1)})`,
        );
        console.log(`        upstream requests: ${registry.requests.length - before}`);
      }
    }
  } finally {
    await registry.close();
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lockwarden-update-bench-'));
try {
  console.log(`# lockwarden update benchmark\nmachine: ${machine()}\ndate: ${NOW.toISOString()}`);
  // --generated, --flat, --typed: only those sections (all of them when none is named).
  const only = ['--generated', '--flat', '--typed'].filter((f) => process.argv.includes(f));
  if (only.length === 0 || only.includes('--generated')) {
    await bench(
      'update, generated lockfile, 100 direct dependencies (target cold <= 15 s)',
      work,
      generated(100),
      [
        [
          'cooling-off 7 d, semverHonesty off',
          { id: 'b', coolingOffDays: 7, typosquatting: true, semverHonesty: 'off' },
        ],
        [
          'cooling-off 7 d, semverHonesty alert (default)',
          { id: 'b', coolingOffDays: 7, typosquatting: true, semverHonesty: 'alert' },
        ],
      ],
    );
  }
  if (only.length === 0 || only.includes('--flat')) {
    // Every entry a direct dependency of the root (the audit bench's shape): Arborist builds a
    // virtual copy of the root, with all its edges, for each edge it resolves, so this costs
    // O(direct dependencies²) inside Arborist, whatever the policy.
    await bench('update, generated lockfile, all 2,000 direct', work, generated(), [
      [
        'cooling-off 7 d, semverHonesty off',
        { id: 'b', coolingOffDays: 7, typosquatting: true, semverHonesty: 'off' },
      ],
      [
        'cooling-off 7 d, semverHonesty alert (default)',
        { id: 'b', coolingOffDays: 7, typosquatting: true, semverHonesty: 'alert' },
      ],
    ]);
  }
  if (only.length === 0 || only.includes('--typed')) {
    await bench('semver honesty, 20 typed packages (target cold <= 10 s)', work, typedPackages(), [
      ['semverHonesty alert', { id: 'b', coolingOffDays: 7, semverHonesty: 'alert' }],
      [
        'semverHonesty off (the same update without comparisons)',
        { id: 'b', coolingOffDays: 7, semverHonesty: 'off' },
      ],
    ]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
