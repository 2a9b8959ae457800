#!/usr/bin/env node
// Regenerates data/popular-packages.json, the embedded list the popularity fallback and the
// typosquatting guardrail read. Run by hand when the list gets stale (monthly at most):
//
//   node scripts/generate-popular-list.mjs [--top 20000] [--out data/popular-packages.json]
//
// The counts come from the `download-counts` package (one monthly download count per package,
// republished every month); `npm-high-impact` is only a sanity cross-check. Both are fetched
// with `npm pack` so the registry is whatever npm's own config points at.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { top: 20000, out: join(root, 'data', 'popular-packages.json'), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--top') {
      opts.top = Number(argv[++i]);
      if (!Number.isInteger(opts.top) || opts.top < 1) throw new Error(`--top wants a positive integer`);
    } else if (arg === '--out') {
      opts.out = resolve(argv[++i] ?? '');
    } else if (arg === '--keep') {
      opts.keep = true;
    } else {
      throw new Error(`unknown argument ${arg} (use --top N, --out FILE, --keep)`);
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
    const counts = packAndExtract('download-counts', work);
    const countsFile = join(counts.dir, 'counts.json');
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

main().catch((err) => {
  console.error(`generate-popular-list: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
