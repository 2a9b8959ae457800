// `npm run bench:lockfiles` (also run by `npm run bench`): how long reading a 2,000-package
// lockfile takes in each format (issue #14: <= 1 s each). The lockfiles are written by the real
// clients (npm, pnpm, yarn classic, yarn Berry, bun) for one generated project against a loopback
// registry, and kept in bench/.build/lockfiles/ so later runs only read them.
//   npm run bench:lockfiles               lock (first run only) and read
//   npm run bench:lockfiles -- --relock   lock again
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readLockfile } from '../src/lockfile/read-lockfile.js';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import {
  LOCK_CLIENTS,
  LOCKFILE_OF,
  type LockProject,
  lockWithClient,
  tempParent,
} from '../test/helpers/lock-with-clients.js';
import { type FullPackument, makePackument } from '../test/helpers/make-packument.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PACKAGES = 2000;
const DIRECT = 150;
const GENERATOR_VERSION = 1;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A dependency graph shaped like a real project's: 150 direct dependencies, every other package
 * reached through one or more dependents, a tenth of the packages in two majors (so several
 * copies of a name exist), some scoped names.
 */
function generate(): { project: LockProject; packuments: FullPackument[] } {
  const rand = rng(14);
  const names = Array.from({ length: PACKAGES }, (_, i) =>
    i % 9 === 0 ? `@bench-s${i % 5}/p-${i.toString(36)}` : `bench-pkg-${i.toString(36)}`,
  );
  const twoMajors = (i: number) => i % 10 === 3;
  const deps: Record<string, string>[] = names.map(() => ({}));
  const range = (i: number) => (twoMajors(i) && rand() < 0.5 ? '^2.0.0' : '^1.0.0');
  for (let i = DIRECT; i < PACKAGES; i++) {
    const parent = Math.floor(rand() * i);
    deps[parent]![names[i]!] = range(i);
    if (rand() < 0.6) deps[Math.floor(rand() * i)]![names[i]!] = range(i);
  }
  const published = new Date(Date.now() - 400 * 86_400_000);
  const packuments = names.map((name, i) =>
    makePackument({
      name,
      versions: (twoMajors(i) ? ['1.0.0', '2.0.0'] : ['1.0.0']).map((version) => ({
        version,
        publishedAt: published,
        dependencies: deps[i]!,
      })),
    }),
  );
  const direct = Object.fromEntries(names.slice(0, DIRECT).map((n, i) => [n, range(i)]));
  const project: LockProject = {
    files: {
      'package.json': JSON.stringify({
        name: 'bench-app',
        version: '1.0.0',
        private: true,
        dependencies: direct,
      }),
    },
  };
  return { project, packuments };
}

async function lockAll(cache: string): Promise<void> {
  const { project, packuments } = generate();
  const registry = await startFakeRegistry({ shape: 'public', packuments });
  registry.precompute();
  const parent = await tempParent();
  try {
    for (const client of LOCK_CLIENTS) {
      const started = performance.now();
      const dir = await lockWithClient(client, project, registry.url, parent);
      const target = path.join(cache, client);
      mkdirSync(target, { recursive: true });
      for (const file of ['package.json', LOCKFILE_OF[client]]) {
        renameSync(path.join(dir, file), path.join(target, file));
      }
      console.log(`  locked with ${client} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await registry.close();
    rmSync(parent, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const key = createHash('sha256')
  .update(`${GENERATOR_VERSION}:${PACKAGES}:${DIRECT}`)
  .digest('hex')
  .slice(0, 12);
const cache = path.join(ROOT, 'bench/.build/lockfiles', key);
console.log(
  `\n# lockfile reading, ${PACKAGES.toLocaleString('en')} packages per lockfile (target <= 1 s each)`,
);
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} (a shared machine inflates every figure alike)`,
);
if (process.argv.includes('--relock')) rmSync(cache, { recursive: true, force: true });
if (!LOCK_CLIENTS.every((c) => existsSync(path.join(cache, c, LOCKFILE_OF[c])))) {
  console.log('  writing the lockfiles with the real clients (first run only)');
  rmSync(cache, { recursive: true, force: true });
  await lockAll(cache);
}
console.log('| lockfile | client | size | entries | first read | median of 5 |');
console.log('|---|---|---|---|---|---|');
for (const client of LOCK_CLIENTS) {
  const dir = path.join(cache, client);
  const file = path.join(dir, LOCKFILE_OF[client]);
  const times: number[] = [];
  let entries = 0;
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    const inventory = await readLockfile(dir);
    times.push(performance.now() - started);
    entries = inventory.entries.length;
  }
  const [first, ...rest] = times;
  const kb = Math.round(statSync(file).size / 1024);
  const lines = readFileSync(file, 'utf8').split('\n').length;
  console.log(
    `| ${LOCKFILE_OF[client]} | ${client} | ${kb} KB, ${lines.toLocaleString('en')} lines | ${entries} | ${first!.toFixed(0)} ms | ${median(rest).toFixed(0)} ms |`,
  );
}
