#!/usr/bin/env node
// Benchmarks the bundled GitHub Action end to end, run as the runner runs it (fresh process,
// INPUT_* variables, event payload file), against loopback fakes with per-request latency:
//   1. a pull request that changes 10 entries of a 2,000-package lockfile, cold cache (< 3 s);
//   2. the whole tree, cold cache (<= 10 s), then warm cache (<= 2 s); peak RSS <= 400 MB.
//
//   node bench/action-bench.mjs [--packages 2000] [--changed 10] [--latency-ms 20] [--json]
//
// The fakes and builders are the test helpers (test/helpers/*.ts), compiled on the fly with
// esbuild, so the benchmark measures against the same upstreams the tests use.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const TARGETS = {
  prColdMs: 3_000,
  treeColdMs: 10_000,
  treeWarmMs: 2_000,
  peakRssBytes: 400 * 1024 * 1024,
};

function parseArgs(argv) {
  const opts = { packages: 2000, changed: 10, latencyMs: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} wants a non-negative integer`);
      return n;
    };
    if (arg === '--packages') opts.packages = num();
    else if (arg === '--changed') opts.changed = num();
    else if (arg === '--latency-ms') opts.latencyMs = num();
    else if (arg === '--json') opts.json = true;
    else throw new Error(`unknown argument ${arg} (use --packages N, --changed N, --latency-ms N, --json)`);
  }
  if (opts.changed > opts.packages) throw new Error('--changed cannot exceed --packages');
  return opts;
}

/** The test helpers as one ESM module inside the repository, so bare imports resolve. */
async function loadHelpers() {
  const outfile = join(root, 'node_modules', '.cache', 'lockwarden-bench', 'action-helpers.mjs');
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    stdin: {
      contents: [
        "export { startFakeRegistry } from './test/helpers/fake-registry.ts';",
        "export { startFakeDownloads } from './test/helpers/fake-downloads.ts';",
        "export { startFakeGitHubRepoApi } from './test/helpers/fake-github-repo-api.ts';",
        "export { makePackument } from './test/helpers/make-packument.ts';",
        "export { makeActionRepo, git } from './test/helpers/make-action-repo.ts';",
        "export { runActionBundle } from './test/helpers/run-action-bundle.ts';",
        "export { ensureActionBundle } from './test/helpers/ensure-action-bundle.ts';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
      sourcefile: 'action-bench-helpers.ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // The helpers locate the repository from their own path.
    define: { 'import.meta.dirname': JSON.stringify(join(root, 'test', 'helpers')) },
    outfile,
    logLevel: 'error',
  });
  return import(pathToFileURL(outfile).href);
}

const DAY_MS = 86_400_000;

/** The registry, downloads and GitHub fakes, each registry request delayed by `latencyMs`. */
async function startFakes(h, registryOptions, counts, latencyMs) {
  const registry = await h.startFakeRegistry(registryOptions);
  // Served from precomputed bytes, as a CDN would: the shared cores go to the Action, not the fake.
  registry.precompute();
  const downloads = await h.startFakeDownloads({ counts });
  const github = await h.startFakeGitHubRepoApi();
  if (latencyMs > 0) {
    registry.fault({ kind: 'delay', ms: latencyMs });
    downloads.fault({ kind: 'delay', ms: latencyMs });
  }
  return { registry, downloads, github };
}

export async function runActionBench(options = {}) {
  const opts = { packages: 2000, changed: 10, latencyMs: 20, ...options };
  const h = await loadHelpers();
  h.ensureActionBundle();

  const now = Date.now();
  const ago = (days) => new Date(now - days * DAY_MS);
  const name = (i) => `bench-pkg-${String(i).padStart(5, '0')}`;
  const packuments = [];
  const counts = {};
  for (let i = 0; i < opts.packages; i++) {
    packuments.push(
      h.makePackument({
        name: name(i),
        versions: [
          { version: '1.0.0', publishedAt: ago(400 + (i % 300)) },
          { version: '1.1.0', publishedAt: ago(100 + (i % 50)) },
        ],
        targetBytes: 6_000,
      }),
    );
    counts[name(i)] = 50_000 + i;
  }
  const { registry, downloads, github } = await startFakes(h, { packuments }, counts, opts.latencyMs);

  const work = mkdtempSync(join(tmpdir(), 'lockwarden-action-bench-'));
  try {
    // Shaped like real lockfiles: a few dozen direct dependencies, the rest transitive (a tree
    // with ten children per package), all hoisted to the top node_modules.
    const direct = Math.min(40, opts.packages);
    const deps = (bumped) =>
      Array.from({ length: opts.packages }, (_, i) => {
        const children = {};
        for (let c = direct + i * 10; c < Math.min(direct + i * 10 + 10, opts.packages); c++)
          children[name(c)] = '^1.0.0';
        return {
          name: name(i),
          version: i >= opts.packages - bumped ? '1.1.0' : '1.0.0',
          ...(Object.keys(children).length ? { dependencies: children } : {}),
        };
      });
    const rootDependencies = Object.fromEntries(
      Array.from({ length: direct }, (_, i) => [name(i), '^1.0.0']),
    );
    const repo = h.makeActionRepo({
      dir: join(work, 'repo'),
      base: { rootDependencies, deps: deps(0) },
      head: { rootDependencies, deps: deps(opts.changed) },
      files: {
        'lockwarden.yml':
          'id: bench\naction: block\ncoolingOffDays: 7\nminWeeklyDownloads: 1000\ntyposquatting: true\n',
      },
    });
    const pullRequest = {
      number: 1,
      pull_request: { number: 1, base: { sha: repo.baseSha }, head: { sha: repo.headSha } },
    };
    const push = { before: repo.baseSha, after: repo.headSha };

    const runOnce = async (label, eventName, event, cacheDir) => {
      registry.requests.length = 0;
      downloads.requests.length = 0;
      const r = await h.runActionBundle({
        workspace: repo.dir,
        eventName,
        event,
        repository: 'bench/app',
        apiUrl: github.url,
        inputs: { policy: 'lockwarden.yml', registry: registry.url },
        env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url, LOCKWARDEN_CACHE_DIR: cacheDir },
        measureRss: true,
        ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
      });
      if (r.code !== 0) {
        throw new Error(
          `${label}: the Action exited with ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`,
        );
      }
      return {
        label,
        ms: Math.round(r.durationMs),
        rssMb: r.maxRssBytes ? Math.round(r.maxRssBytes / 1024 / 1024) : null,
        checked: Number(r.outputs.checked),
        registryRequests: registry.requests.length,
        downloadsRequests: downloads.requests.length,
      };
    };

    const results = [];
    results.push(
      await runOnce('pull request, 10 changed, cold', 'pull_request', pullRequest, join(work, 'cache-pr')),
    );
    results.push(await runOnce('whole tree, cold', 'push', push, join(work, 'cache-tree')));
    results.push(await runOnce('whole tree, warm', 'push', push, join(work, 'cache-tree')));
    const [pr, cold, warm] = results;
    const peak = Math.max(...results.map((r) => r.rssMb ?? 0));
    const checks = [
      {
        what: 'pull request cold',
        value: `${pr.ms} ms`,
        target: `< ${TARGETS.prColdMs} ms`,
        ok: pr.ms < TARGETS.prColdMs,
      },
      {
        what: 'whole tree cold',
        value: `${cold.ms} ms`,
        target: `<= ${TARGETS.treeColdMs} ms`,
        ok: cold.ms <= TARGETS.treeColdMs,
      },
      {
        what: 'whole tree warm',
        value: `${warm.ms} ms`,
        target: `<= ${TARGETS.treeWarmMs} ms`,
        ok: warm.ms <= TARGETS.treeWarmMs,
      },
      {
        what: 'peak RSS',
        value: `${peak} MB`,
        target: `<= ${TARGETS.peakRssBytes / 1024 / 1024} MB`,
        ok: peak * 1024 * 1024 <= TARGETS.peakRssBytes,
      },
    ];
    return { options: opts, results, checks };
  } finally {
    await Promise.all([registry.close(), downloads.close(), github.close()]);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `scope: all` on a real lockfile (default: the Origami monorepo in ../shared/lockfiles, 3,172
 * name@versions, 88 workspaces), as a push event: the whole tree through the bundle, cold, with a
 * fake registry that knows every pinned version (all old, so nothing is blocked). Peak RSS is the
 * figure to watch (issue 8: 418-465 MB before; target <= 400 MB).
 */
export async function runRealLockfileBench(dir, options = {}) {
  const { readFileSync, cpSync, existsSync } = await import('node:fs');
  if (!existsSync(join(dir, 'package-lock.json'))) return undefined;
  const opts = { latencyMs: 20, ...options };
  const h = await loadHelpers();
  h.ensureActionBundle();
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const versions = new Map();
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!key.includes('node_modules/') || entry.link || !entry.version) continue;
    const name = entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!versions.has(name)) versions.set(name, new Set());
    versions.get(name).add(entry.version);
  }
  const now = Date.now();
  const packuments = [];
  const counts = {};
  let i = 0;
  for (const [name, set] of versions) {
    packuments.push(
      h.makePackument({
        name,
        versions: [...set].map((version, k) => ({
          version,
          publishedAt: new Date(now - (400 + ((i + k) % 300)) * DAY_MS),
        })),
        // Sizes as on the mirror this machine reaches (REGISTRY-NOTES.md): most documents tens of
        // KB, one in ten hundreds of KB, one in fifty MBs.
        targetBytes: i % 50 === 0 ? 4_000_000 : i % 10 === 0 ? 400_000 : 40_000,
      }),
    );
    counts[name] = 50_000 + i++;
  }
  // Mirror-shaped: always the full document (with `time`), as the registry here serves them.
  const { registry, downloads, github } = await startFakes(
    h,
    { packuments, shape: 'mirror' },
    counts,
    opts.latencyMs,
  );
  const work = mkdtempSync(join(tmpdir(), 'lockwarden-action-bench-real-'));
  try {
    const repo = join(work, 'repo');
    cpSync(dir, repo, { recursive: true });
    const { writeFileSync } = await import('node:fs');
    // The shared lockfiles name their registry `http://REGISTRY/`: point it at the fake, as a real
    // project's lockfile points at the registry it installs from.
    const lockText = readFileSync(join(repo, 'package-lock.json'), 'utf8');
    writeFileSync(join(repo, 'package-lock.json'), lockText.replaceAll('http://REGISTRY/', registry.url));
    writeFileSync(
      join(repo, 'lockwarden.yml'),
      'id: bench\naction: block\ncoolingOffDays: 7\nminWeeklyDownloads: 1000\ntyposquatting: true\n',
    );
    h.git(repo, ['init', '--quiet', '--initial-branch=main']);
    h.git(repo, ['add', '--all']);
    h.git(repo, ['commit', '--quiet', '--message', 'head']);
    const head = h.git(repo, ['rev-parse', 'HEAD']);
    const r = await h.runActionBundle({
      workspace: repo,
      eventName: 'push',
      event: { after: head },
      repository: 'bench/app',
      apiUrl: github.url,
      inputs: { policy: 'lockwarden.yml', registry: registry.url, scope: 'all' },
      env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url, LOCKWARDEN_CACHE_DIR: join(work, 'cache') },
      measureRss: true,
      ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
      // Another build (an older commit's) for before/after figures in one run.
      ...(opts.bundle ? { bundle: opts.bundle } : {}),
    });
    const rssMb = r.maxRssBytes ? Math.round(r.maxRssBytes / 1024 / 1024) : null;
    return {
      label: `${dir.split('/').pop()}, scope: all, cold`,
      code: r.code,
      ms: Math.round(r.durationMs),
      rssMb,
      checked: Number(r.outputs.checked),
      registryRequests: registry.requests.length,
      ok: r.code === 0 && rssMb !== null && rssMb * 1024 * 1024 <= TARGETS.peakRssBytes,
      tail: r.code === 0 ? '' : `${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`,
    };
  } finally {
    await Promise.all([registry.close(), downloads.close(), github.close()]);
    rmSync(work, { recursive: true, force: true });
  }
}

function print(outcome) {
  const { options, results, checks } = outcome;
  console.log(
    `Action benchmark: ${options.packages} packages, ${options.changed} changed, ${options.latencyMs} ms upstream latency`,
  );
  for (const r of results) {
    console.log(
      `  ${r.label.padEnd(34)} ${String(r.ms).padStart(6)} ms  rss ${String(r.rssMb).padStart(4)} MB  checked ${String(r.checked).padStart(5)}  registry requests ${r.registryRequests}  downloads requests ${r.downloadsRequests}`,
    );
  }
  for (const c of checks)
    console.log(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.what}: ${c.value} (target ${c.target})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  // Make sure the bundle exists before timing anything (the helpers rebuild a stale one).
  execFileSync(process.execPath, [join(root, 'scripts', 'build-action.mjs')], { cwd: root, stdio: 'ignore' });
  const outcome = await runActionBench(opts);
  const realDir = join(root, '..', 'shared', 'lockfiles', 'Financial-Times__origami');
  const real = await runRealLockfileBench(realDir, { latencyMs: opts.latencyMs });
  if (opts.json) console.log(JSON.stringify({ ...outcome, real }, null, 2));
  else {
    print(outcome);
    if (real) {
      console.log(
        `  ${real.label.padEnd(34)} ${String(real.ms).padStart(6)} ms  rss ${String(real.rssMb).padStart(4)} MB  checked ${String(real.checked).padStart(5)}  registry requests ${real.registryRequests}  exit ${real.code}`,
      );
      console.log(
        `  ${real.ok ? 'PASS' : 'FAIL'} peak RSS, real lockfile: ${real.rssMb} MB (target <= ${TARGETS.peakRssBytes / 1024 / 1024} MB)${real.tail ? `\n${real.tail}` : ''}`,
      );
    }
  }
  process.exitCode = outcome.checks.every((c) => c.ok) && (real?.ok ?? true) ? 0 : 1;
}
