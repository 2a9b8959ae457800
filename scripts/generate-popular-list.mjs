#!/usr/bin/env node
// Regenerates data/popular-packages.json, the embedded list the popularity fallback and the
// typosquatting guardrail read, and data/known-packages.json, the wider list of established
// names (ranks top+1 to --known-to, names only) that clears a look-alike. Run by hand when the
// list gets stale (monthly at most), after `npm run build` (the wider list is vetted with the
// built typosquatting rules):
//
//   node scripts/generate-popular-list.mjs [--top 20000] [--known-to 200000] [--counts FILE]
//
// Every name on the wider list that the rules flag is vetted against its packument from the
// registry npm is configured with (scripts/vet-lookalikes.mjs): security placeholders,
// unpublished names, one-version copies and look-alikes whose downloads are typo traffic are
// left off, so they stay flagged. The verdicts are cached in node_modules/.cache.
//
// The counts come from the `download-counts` package (one monthly download count per package,
// republished every month); `npm-high-impact` is only a sanity cross-check. Both are fetched
// with `npm pack` so the registry is whatever npm's own config points at.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { judgeLookalike, readEvidenceFor } from './vet-lookalikes.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = {
    top: 20000,
    knownTo: 200000,
    out: join(root, 'data', 'popular-packages.json'),
    knownOut: join(root, 'data', 'known-packages.json'),
    counts: undefined,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--top') {
      opts.top = Number(argv[++i]);
      if (!Number.isInteger(opts.top) || opts.top < 1) throw new Error(`--top wants a positive integer`);
    } else if (arg === '--known-to') {
      opts.knownTo = Number(argv[++i]);
      if (!Number.isInteger(opts.knownTo) || opts.knownTo < 0) throw new Error(`--known-to wants an integer`);
    } else if (arg === '--counts') {
      opts.counts = resolve(argv[++i] ?? '');
    } else if (arg === '--out') {
      opts.out = resolve(argv[++i] ?? '');
    } else if (arg === '--keep') {
      opts.keep = true;
    } else {
      throw new Error(
        `unknown argument ${arg} (use --top N, --known-to N, --counts FILE, --out FILE, --keep)`,
      );
    }
  }
  return opts;
}

/** `npm pack <spec>` into dir and extract it; returns the package directory. */
function packAndExtract(spec, dir) {
  const dest = join(dir, spec.replace(/[^a-z0-9.-]/gi, '_'));
  mkdirSync(dest, { recursive: true });
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', dest, '--json', '--loglevel=error'], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const [info] = JSON.parse(out);
  if (!info?.filename) throw new Error(`npm pack ${spec} printed no file name`);
  execFileSync('tar', ['xzf', join(dest, info.filename), '-C', dest]);
  return { dir: join(dest, 'package'), version: info.version };
}

// URL-safe names only. Old packages may have capitals (`JSONStream`) or odd first characters,
// so this is looser than npm's rules for new names; it only keeps garbage keys out.
const VALID_NAME = /^(?:@[A-Za-z0-9._~-]+\/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;

/** `2.20260301.0` -> `2026-03-01`: the package encodes the build date in its minor version. */
function asOfFromVersion(version) {
  const m = /^\d+\.(\d{4})(\d{2})(\d{2})\./.exec(version);
  if (!m) return null;
  const [, y, mo, d] = m;
  const date = new Date(`${y}-${mo}-${d}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? null : `${y}-${mo}-${d}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'lockwarden-popular-'));
  try {
    // --counts: an extracted download-counts package (its counts.json), to re-run without
    // fetching 90 MB again.
    const counts = opts.counts
      ? {
          dir: dirname(opts.counts),
          version: JSON.parse(readFileSync(join(dirname(opts.counts), 'package.json'), 'utf8')).version,
        }
      : packAndExtract('download-counts', work);
    const countsFile = opts.counts ?? join(counts.dir, 'counts.json');
    const raw = JSON.parse(readFileSync(countsFile, 'utf8'));
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new Error(`download-counts@${counts.version}: counts.json is not an object of name -> count`);
    }
    const entries = [];
    let skipped = 0;
    for (const [name, count] of Object.entries(raw)) {
      if (typeof count !== 'number' || !Number.isFinite(count) || count < 0 || !VALID_NAME.test(name)) {
        skipped++;
        continue;
      }
      entries.push([name, Math.round(count)]);
    }
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const top = entries.slice(0, opts.top);
    const asOf = asOfFromVersion(counts.version) ?? new Date().toISOString().slice(0, 10);

    const list = { asOf, source: `download-counts@${counts.version}`, packages: top };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(list)}\n`);

    await writeKnownList(entries, top, { ...opts, asOf, source: list.source });

    const impact = packAndExtract('npm-high-impact', work);
    const libDir = join(impact.dir, 'lib');
    const mod = await import(pathToFileURL(join(libDir, 'top.js')).href);
    const names = mod.top ?? [];
    const ours = new Set(top.map(([n]) => n));
    const covered = names.filter((n) => ours.has(n)).length;
    const topDl = (await import(pathToFileURL(join(libDir, 'top-download.js')).href)).topDownload ?? [];
    const coveredDl = topDl.filter((n) => ours.has(n)).length;

    const last = top[top.length - 1];
    console.log(
      `download-counts@${counts.version}: ${entries.length} packages (${skipped} skipped as invalid)`,
    );
    console.log(
      `wrote ${top.length} packages to ${opts.out} (asOf ${asOf}); smallest ${last?.[0]} ${last?.[1]}/month`,
    );
    console.log(
      `npm-high-impact@${impact.version}: ${covered}/${names.length} high-impact names on our list; ` +
        `${coveredDl}/${topDl.length} of its top-download names`,
    );
    if (opts.keep) console.log(`kept ${work} (${readdirSync(work).join(', ')})`);
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

const SHARD_NAMES = 2000;

/** The names ranked top+1 to knownTo, less the flagged ones the registry shows are no package of their own. */
async function writeKnownList(entries, top, opts) {
  const lib = join(root, 'lib', 'src', 'policy');
  const { createPopularIndex } = await import(pathToFileURL(join(lib, 'popular-index.js')).href);
  const { findLookalike } = await import(pathToFileURL(join(lib, 'find-lookalike.js')).href);
  // The popular list alone: the rules as they judge a name nobody has vouched for.
  const index = createPopularIndex({ asOf: opts.asOf, packages: top });
  const wide = entries.slice(top.length, opts.knownTo);
  const flagged = [];
  for (const [name, monthly] of wide) {
    const lookalike = findLookalike(name, index);
    if (lookalike) flagged.push({ name, monthly, lookalike });
  }
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  const evidence = await readEvidenceFor(
    flagged.map((f) => f.name),
    {
      registry,
      cacheFile: join(root, 'node_modules', '.cache', 'lockwarden', 'lookalike-evidence.json'),
      log: (line) => console.log(line),
    },
  );
  const dropped = new Map();
  const vetted = [];
  for (const { name, monthly, lookalike } of flagged) {
    const { established, reason } = judgeLookalike(
      evidence.get(name),
      monthly,
      lookalike.targetMonthlyDownloads,
    );
    if (established) vetted.push(name);
    else dropped.set(name, reason);
  }
  const names = wide
    .map(([name]) => name)
    .filter((name) => !dropped.has(name))
    .sort();
  // Shards of SHARD_NAMES consecutive names, each compressed on its own: a lookup decodes the
  // one shard its name falls in (about a millisecond) instead of the whole list (tens).
  const shards = [];
  let packedBytes = 0;
  for (let i = 0; i < names.length; i += SHARD_NAMES) {
    const text = names.slice(i, i + SHARD_NAMES).join('\n');
    const packed = brotliCompressSync(text, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: text.length,
      },
    });
    packedBytes += packed.length;
    shards.push([names[i], packed.toString('base64')]);
  }
  const file = {
    asOf: opts.asOf,
    source: opts.source,
    ranks: [top.length + 1, top.length + wide.length],
    count: names.length,
    encoding: 'brotli-base64-shards',
    shards,
    // Look-alikes the rules flag that the registry shows as packages of their own: the unit
    // tests check that every name the rules flag on this list is one of them, so a rule change
    // cannot clear an unvetted name silently (re-run this script instead).
    vetted: vetted.sort(),
  };
  writeFileSync(opts.knownOut, `${JSON.stringify(file)}\n`);
  const reasons = {};
  for (const reason of dropped.values()) reasons[reason] = (reasons[reason] ?? 0) + 1;
  console.log(
    `wrote ${names.length} known names (ranks ${file.ranks.join('-')}) to ${opts.knownOut}: ` +
      `${packedBytes} bytes compressed in ${shards.length} shards; ${flagged.length} flagged by the rules, ${vetted.length} vetted as ` +
      `established, ${dropped.size} left off (${JSON.stringify(reasons)})`,
  );
}

main().catch((err) => {
  console.error(`generate-popular-list: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
