// `npm run bench:update`: lockwarden update against a loopback fake registry that adds latency to
// every request (the built CLI in a child process, cold cache).
//   1. update of a generated 2,000-entry lockfile, every package one minor behind and its newest
//      release inside the cooling-off window (target: cold <= 15 s), with semverHonesty off and at
//      its default (alert, which compares the two tarballs of every update);
//   2. semver honesty over 20 updated packages with type declarations (target: cold <= 10 s).
// Prints wall time, peak RSS, upstream requests; the machine is noted. Colleagues share this
// machine: compare figures from one run, not across runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import { writeProject } from '../test/helpers/make-lockfile.js';
import { type FullPackument, makePackument } from '../test/helpers/make-packument.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bench/child-cli.mjs');
const LATENCY_MS = 20;
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
  stdout: string;
  stderr: string;
}

function runCli(argv: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...argv], {
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
      resolve({
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
function generated(): { deps: { name: string; version: string }[]; packuments: FullPackument[] } {
  const rand = rng(42);
  const deps = Array.from({ length: 2000 }, (_, i) => ({
    name: i % 10 === 0 ? `@bench-scope${i % 7}/upd-${i}` : `bench-upd-${i.toString(36)}`,
    version: '1.0.0',
  }));
  const packuments = deps.map(({ name }) => {
    const r = rand();
    const targetBytes =
      r < 0.02
        ? 1_000_000 + rand() * 4_000_000
        : r < 0.15
          ? 100_000 + rand() * 400_000
          : 10_000 + rand() * 70_000;
    const young = rand() < 0.05;
    return makePackument({
      name,
      targetBytes,
      versions: [
        { version: '1.0.0', publishedAt: ago(400) },
        { version: '1.1.0', publishedAt: ago(60) },
        ...(young ? [{ version: '1.2.0', publishedAt: ago(2) }] : []),
      ],
    });
  });
  return { deps, packuments };
}

/** 20 packages with a few hundred lines of declarations each; every third one breaks something. */
function typedPackages(): { deps: { name: string; version: string }[]; packuments: FullPackument[] } {
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

async function bench(
  label: string,
  work: string,
  workload: { deps: { name: string; version: string }[]; packuments: FullPackument[] },
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
        rootDependencies: Object.fromEntries(workload.deps.map((d) => [d.name, `^${d.version}`])),
      });
      const policyFile = path.join(dir, 'policy.json');
      writeFileSync(policyFile, JSON.stringify(policy));
      const cacheDir = mkdtempSync(path.join(work, 'cache-'));
      const before = registry.requests.length;
      const r = await runCli([
        'update',
        dir,
        '--json',
        '--policy',
        policyFile,
        '--registry',
        registry.url,
        '--cache-dir',
        cacheDir,
      ]);
      let summary = r.stderr.split('\n')[0] ?? '';
      try {
        const out = JSON.parse(r.stdout);
        const semver = (out.semver as unknown[]).length;
        summary = `${out.updated.length} updated, ${out.skipped.length} skipped, ${semver} semver findings`;
      } catch {
        // summary stays the first line of stderr
      }
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
      const moved = Object.values(lock.packages as Record<string, { version?: string }>).filter(
        (p) => p.version === '1.1.0',
      ).length;
      console.log(
        `  ${policyLabel}: cold ${fmt(r.ms)}  peak RSS ${r.maxRssMb.toFixed(0)} MB  exit ${r.code}  (${summary}; ${moved} lockfile entries at 1.1.0)`,
      );
      console.log(`        upstream requests: ${registry.requests.length - before}`);
    }
  } finally {
    await registry.close();
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lockwarden-update-bench-'));
try {
  console.log(`# lockwarden update benchmark\nmachine: ${machine()}\ndate: ${NOW.toISOString()}`);
  const only = process.argv.slice(2);
  if (only.length === 0 || only.includes('--generated')) {
    await bench('update, generated lockfile (target cold <= 15 s)', work, generated(), [
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
