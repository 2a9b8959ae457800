#!/usr/bin/env node
// Writes the generated parts of the typosquatting evaluation (test/fixtures/typosquatting/):
// samples of established packages from the same download data the embedded lists come from,
// and the package names of real lockfiles. The malicious names and the legitimate look-alikes
// are written by hand (malicious.json, legitimate.json). Run by hand when the lists change:
//
//   node scripts/generate-typosquatting-eval.mjs --counts DIR/counts.json --holdout-counts DIR/counts.json \
//     [--lockfiles ../shared/lockfiles]
//
// --counts: the download-counts release the embedded lists were built from; --holdout-counts an
// earlier release, so that the held-out band is drawn from other data than the lists.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = 2000;

function parseArgs(argv) {
  const opts = { lockfiles: resolve(root, '..', 'shared', 'lockfiles') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--counts') opts.counts = resolve(argv[++i] ?? '');
    else if (arg === '--holdout-counts') opts.holdoutCounts = resolve(argv[++i] ?? '');
    else if (arg === '--lockfiles') opts.lockfiles = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!opts.counts || !opts.holdoutCounts) throw new Error('--counts and --holdout-counts are required');
  return opts;
}

/** Names by downloads, most first, ties by name: the order the embedded lists use. */
function ranked(countsFile) {
  const raw = JSON.parse(readFileSync(countsFile, 'utf8'));
  const version = JSON.parse(readFileSync(join(dirname(countsFile), 'package.json'), 'utf8')).version;
  const entries = Object.entries(raw).filter(([, n]) => typeof n === 'number' && Number.isFinite(n));
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { version, names: entries.map(([name]) => name) };
}

/** A seeded sample (mulberry32), so that a re-run on the same data writes the same file. */
function sample(names, size, seed) {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pool = [...names];
  for (let i = 0; i < size && i < pool.length; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, size).sort();
}

function lockfileNames(dir, popular) {
  const names = new Set();
  const visit = (path) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (entry === 'node_modules') continue;
      if (statSync(full).isDirectory()) visit(full);
      else if (entry === 'package-lock.json') {
        const lock = JSON.parse(readFileSync(full, 'utf8'));
        for (const key of Object.keys(lock.packages ?? {})) {
          const at = key.lastIndexOf('node_modules/');
          if (at !== -1) names.add(key.slice(at + 'node_modules/'.length));
        }
        const walk = (deps) => {
          for (const [name, dep] of Object.entries(deps ?? {})) {
            names.add(name);
            walk(dep.dependencies);
          }
        };
        walk(lock.dependencies);
      }
    }
  };
  visit(dir);
  return [...names].filter((name) => !popular.has(name)).sort();
}

const opts = parseArgs(process.argv.slice(2));
const current = ranked(opts.counts);
const earlier = ranked(opts.holdoutCounts);
const popular = new Set(
  JSON.parse(readFileSync(join(root, 'data', 'popular-packages.json'), 'utf8')).packages.map(([n]) => n),
);
const dev = sample(current.names.slice(20000, 40000), SAMPLE, 15);
const devSet = new Set(dev);
const holdout = sample(
  earlier.names.slice(20000, 40000).filter((name) => !devSet.has(name)),
  SAMPLE,
  1515,
);
const beyond = sample(current.names.slice(200000, 300000), SAMPLE, 151515);
const established = {
  about:
    'Established packages: samples of 2,000 from the packages ranked 20,001-40,000 by monthly downloads. ' +
    '"dev" from the release the embedded lists come from, "holdout" from an earlier release (names not in dev), ' +
    '"beyond" from ranks 200,001-300,000 of the current release: past the wider list, judged by the rules alone ' +
    '(reported, not held to the 0.5% goal). Written by scripts/generate-typosquatting-eval.mjs.',
  sources: { dev: `download-counts@${current.version}`, holdout: `download-counts@${earlier.version}` },
  dev,
  holdout,
  beyond,
};
const dir = join(root, 'test', 'fixtures', 'typosquatting');
writeFileSync(join(dir, 'established.json'), `${JSON.stringify(established, null, 1)}\n`);
const lockfiles = lockfileNames(opts.lockfiles, popular);
writeFileSync(
  join(dir, 'lockfile-names.json'),
  `${JSON.stringify({ about: 'Package names in the real lockfiles of /work/shared/lockfiles that are not on the popular list: real packages real projects install.', names: lockfiles }, null, 1)}\n`,
);
console.log(
  `established: ${dev.length} dev, ${holdout.length} holdout, ${beyond.length} beyond; ${lockfiles.length} lockfile names`,
);
