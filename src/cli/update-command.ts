// `lockwarden update [name...] [dir]`: flags in, engine call, text or JSON out.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { UpdateResult } from '../engine/update-lockfile.js';
import { LockwardenError } from '../errors.js';
import type { PopularIndex } from '../policy/types.js';
import { resolveCacheDir } from '../sources/disk-cache.js';
import { TOOL_VERSION } from '../version.js';
import {
  type CliIo,
  formatStats,
  openSources,
  optionalInteger,
  resolveNow,
  resolvePolicy,
  SOURCE_OPTIONS,
} from './main.js';

const UPDATE_HELP = `lockwarden ${TOOL_VERSION}: lockwarden update [name...] [dir] [options]

Moves the lockfile to the newest versions the policy allows, within the ranges in package.json
(and every workspace's), honouring overrides, and says which newer versions it skipped and why.
Only registry packages move; nothing is installed into the project and no script runs.
package-lock.json is resolved by Arborist; pnpm-lock.yaml, yarn.lock and bun.lock by the project's
own pnpm, yarn or bun (from PATH), run lockfile-only on a temporary copy against a loopback
registry that shows it only the versions the policy allows.

Options:
  --policy FILE          policy file; default: lockwarden.policy.json in dir, else built-in
  --latest               also move package.json ranges across majors to the newest allowed version
  --dry-run              write nothing; print what would change
  --json                 print the result as JSON
  --registry URL         upstream registry; default: the registry npm is configured with
  --cache-dir DIR        on-disk cache (env LOCKWARDEN_CACHE_DIR)
  --cache-max-mb N       size limit of the cache directory (env LOCKWARDEN_CACHE_MAX_MB; default 1024)
  --timeout MS           deadline of each upstream request, body included (default 60000; 10000 to the headers)
  --retries N            retries on network errors, 5xx and 429 (default 2)
  --stats                print upstream request and byte counts on stderr

Exit codes: 0 updated or nothing to do, 1 the policy allows no version a range needs,
2 usage or configuration error, 3 facts unavailable under a policy that blocks on unavailable facts.
`;

const UPDATE_OPTIONS = {
  ...SOURCE_OPTIONS,
  latest: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
} as const;

export async function runUpdate(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof UPDATE_OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: UPDATE_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LockwardenError('EUSAGE', `${(err as Error).message} (lockwarden update --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(UPDATE_HELP);
    return 0;
  }
  const { names, dir } = splitPositionals(positionals, io.cwd);
  const now = resolveNow(values.now, io);
  const timeoutMs = optionalInteger(values.timeout, '--timeout', 1, 600_000);
  const retries = optionalInteger(values.retries, '--retries', 0, 10);
  const policy = await resolvePolicy(values.policy, dir, io.cwd);
  const [{ readPopularList }, { createPopularIndex }, { updateLockfile }] = await Promise.all([
    import('../sources/popular-list.js'),
    import('../policy/popular-index.js'),
    import('../engine/update-lockfile.js'),
  ]);
  const popular: PopularIndex = createPopularIndex(readPopularList());
  const sources = await openSources(values, dir, io, { timeoutMs, retries, needsRegistry: true });
  // Arborist resolves with the user's npm settings, read the same way as the sources' (the
  // sources still fetch every packument; Arborist fetches only what is not a registry package).
  const { loadNpmConfig } = await import('../sources/npm-config.js');
  const npmOptions = (await loadNpmConfig({ cwd: dir, env: io.env })).flat;
  try {
    const result = await updateLockfile({
      dir,
      names,
      latest: values.latest,
      dryRun: values['dry-run'],
      policy,
      sources,
      popular,
      now,
      npmOptions,
      registryFromFlag: values.registry !== undefined,
      env: io.env,
      cacheDir: resolveCacheDir({
        env: io.env,
        ...(values['cache-dir'] ? { override: values['cache-dir'] } : {}),
      }),
    });
    if (values.stats) io.stderr.write(`${formatStats(sources)}\n`);
    const exitCode = result.unavailable ? 3 : 0;
    if (values.json)
      io.stdout.write(`${JSON.stringify(updateJson(result, values['dry-run'], exitCode), null, 2)}\n`);
    else io.stdout.write(renderUpdate(result, { dryRun: values['dry-run'] }));
    return exitCode;
  } finally {
    await sources.close();
  }
}

/**
 * `update a b ./app`: the last positional is the directory when it looks like a path or names an
 * existing directory with a package.json; every other positional is a package name.
 */
export function splitPositionals(
  positionals: readonly string[],
  cwd: string,
): { names: string[]; dir: string } {
  const last = positionals.at(-1);
  if (last !== undefined && looksLikeDir(last, cwd)) {
    return { names: positionals.slice(0, -1), dir: path.resolve(cwd, last) };
  }
  return { names: [...positionals], dir: path.resolve(cwd) };
}

function looksLikeDir(arg: string, cwd: string): boolean {
  if (arg === '.' || arg === '..' || arg.startsWith('./') || arg.startsWith('../') || path.isAbsolute(arg))
    return true;
  const full = path.resolve(cwd, arg);
  if (arg.startsWith('@') && arg.split('/').length === 2 && !existsSync(path.join(full, 'package.json')))
    return false;
  try {
    return statSync(full).isDirectory() && existsSync(path.join(full, 'package.json'));
  } catch {
    return false;
  }
}

export function renderUpdate(result: UpdateResult, opts: { dryRun: boolean }): string {
  const lines: string[] = [];
  if (result.ranges.length > 0) {
    lines.push('Moved package.json ranges:');
    for (const r of result.ranges) lines.push(`  ${r.name} ${r.from} → ${r.to} (${r.file})`);
  }
  if (result.updated.length > 0) {
    lines.push('Updated the following:');
    for (const u of result.updated) lines.push(`  ${u.name} ${u.from} → ${u.to}`);
  }
  if (result.added.length > 0) {
    lines.push('Added:');
    for (const a of result.added) lines.push(`  ${a.name} ${a.version}`);
  }
  if (result.removed.length > 0) {
    lines.push('Removed:');
    for (const r of result.removed) lines.push(`  ${r.name} ${r.version}`);
  }
  if (lines.length === 0)
    lines.push('Nothing to update: every pin is at the newest version the policy allows.');
  if (result.semver.length > 0) {
    lines.push('Semver honesty:');
    for (const f of result.semver) lines.push(`  ${f.message}`);
  }
  if (result.skipped.length > 0) {
    lines.push('Skipped newer versions:');
    for (const s of result.skipped) lines.push(`  ${s.name} ${s.version}: ${s.reason}`);
  }
  if (opts.dryRun) lines.push(`Dry run: ${result.lockfile} and package.json were not written.`);
  return `${lines.join('\n')}\n`;
}

function updateJson(result: UpdateResult, dryRun: boolean, exitCode: number) {
  return {
    schemaVersion: 1,
    lockfile: result.lockfile,
    dryRun,
    wrote: result.wrote,
    updated: result.updated,
    added: result.added,
    removed: result.removed,
    ranges: result.ranges,
    skipped: result.skipped,
    semver: result.semver,
    exitCode,
  };
}
