// `lockwarden` command line: parse flags, call the engine, render. No guardrail logic here.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPackages } from '../engine/check-packages.js';
import { findPolicyFile } from '../engine/find-policy-file.js';
import { factNeeds } from '../engine/gather-facts.js';
import { readPolicyFile } from '../engine/read-policy-file.js';
import { buildReport, type Report } from '../engine/report.js';
import { isLockwardenError, LockwardenError } from '../errors.js';
import { DEFAULT_POLICY } from '../policy/parse-policy.js';
import type { Policy, PopularIndex } from '../policy/types.js';
import { resolveCacheDir } from '../sources/disk-cache.js';
import type { Sources } from '../sources/types.js';
import { TOOL_VERSION } from '../version.js';
import { parseCheckSpecs } from './parse-check-specs.js';
import { createProgress } from './progress.js';
import { renderHeader, renderReport } from './render-report.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Injected clock (tests); defaults to the system clock or `--now`. */
  now?: () => Date;
}

const USAGE = `Usage:
  lockwarden audit [dir] [options]         check every pinned version in dir's lockfile(s)
  lockwarden check <name[@version]>...     would these packages be allowed? (latest when no version)
  lockwarden check <name@old..new>...      is this minor/patch update free of breaking interface changes?
  lockwarden update [name...] [dir]        move pins to the newest versions the policy allows (update --help)
  lockwarden serve [options]               run the policy service and registry proxy (serve --help)
  lockwarden cache prune|clear [options]   trim or empty the on-disk cache (cache --help)
`;

const EXIT_CODES = `Exit codes: 0 clean or alerts only, 1 blocking findings, 2 usage or configuration error,
3 facts unavailable under a policy that blocks on unavailable facts.
`;

const AUDIT_HELP = `lockwarden audit [dir] [options]

Checks every pinned version in dir's package-lock.json (or npm-shrinkwrap.json) against the policy;
dir defaults to the current directory.

Options:
  --policy FILE          policy file (JSON or YAML); default: lockwarden.policy.json in dir, else built-in
  --lockfile FILE        lockfile name inside dir (package-lock.json or npm-shrinkwrap.json)
  --only NAME            audit only this package (repeatable; a name not in the lockfile is an error)
  --json                 print the versioned JSON report on stdout
  --sbom FILE            also write a CycloneDX 1.6 JSON SBOM of the lockfile(s) with the verdicts
  --verbose              list the packages behind each group of unavailable facts
  --registry URL         upstream registry; default: the registry npm is configured with
  --downloads-url URL    downloads API base URL (env LOCKWARDEN_DOWNLOADS_URL)
  --github-api-url URL   GitHub API base URL (env GITHUB_API_URL; token from GITHUB_TOKEN)
  --cache-dir DIR        on-disk cache (env LOCKWARDEN_CACHE_DIR; default: user cache dir)
  --cache-max-mb N       size limit of the cache directory (env LOCKWARDEN_CACHE_MAX_MB; default 1024)
  --advisories SOURCE    registry (its bulk advisory endpoint, default) or osv (env LOCKWARDEN_OSV_URL)
  --concurrency N        packages examined at once (default 32)
  --timeout MS           time allowed for each upstream response (default 10000)
  --retries N            retries on network errors, 5xx and 429 (default 2)
  --stats                print upstream request and byte counts on stderr
  -h, --help             this help

${EXIT_CODES}`;

const CHECK_HELP = `lockwarden check <name[@version]>... [options]

Would these packages be allowed? A name without a version is checked at its latest version, and
the report says which version that was.

Options:
  --policy FILE          policy file (JSON or YAML); default: lockwarden.policy.json here, else built-in
  --json                 print the versioned JSON report on stdout
  --verbose              list the packages behind each group of unavailable facts
  --registry URL, --downloads-url URL, --github-api-url URL, --cache-dir DIR, --advisories SOURCE, --concurrency N,
  --timeout MS, --retries N, --stats: as for audit (lockwarden audit --help)
  -h, --help             this help

${EXIT_CODES}`;

const HELP = `lockwarden ${TOOL_VERSION}: supply-chain guardrails for npm

${USAGE}
Options (audit, check):
  --policy FILE          policy file (JSON or YAML); default: lockwarden.policy.json in dir, else built-in
  --registry URL         upstream registry; default: the registry npm is configured with
  --downloads-url URL    downloads API base URL (env LOCKWARDEN_DOWNLOADS_URL)
  --github-api-url URL   GitHub API base URL (env GITHUB_API_URL; token from GITHUB_TOKEN)
  --cache-dir DIR        on-disk cache (env LOCKWARDEN_CACHE_DIR; default: user cache dir)
  --advisories SOURCE    registry (its bulk advisory endpoint, default) or osv (env LOCKWARDEN_OSV_URL)
  --json                 print the versioned JSON report on stdout
  --verbose              list the packages behind each group of unavailable facts
  --only NAME            audit only this package (repeatable)
  --lockfile FILE        lockfile inside dir: package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml,
                         yarn.lock (classic or Berry) or bun.lock; default: every one dir has
  --concurrency N        packages examined at once (default 32)
  --timeout MS           deadline of each upstream request, body included (default 60000; 10000 to the headers)
  --retries N            retries on network errors, 5xx and 429 (default 2)
  --stats                print upstream request and byte counts on stderr
  -h, --help             this help
  -v, --version          print the version

${EXIT_CODES}`;

/** Where facts come from and how they are fetched and cached: the same for every command that reads them. */
export const SOURCE_OPTIONS = {
  policy: { type: 'string' },
  registry: { type: 'string' },
  'downloads-url': { type: 'string' },
  'github-api-url': { type: 'string' },
  'cache-dir': { type: 'string' },
  'cache-max-mb': { type: 'string' },
  advisories: { type: 'string' },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  stats: { type: 'boolean', default: false },
  now: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const COMMON_OPTIONS = {
  ...SOURCE_OPTIONS,
  verbose: { type: 'boolean', default: false },
  only: { type: 'string', multiple: true },
  lockfile: { type: 'string' },
  concurrency: { type: 'string' },
  sbom: { type: 'string' },
} as const;

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      io.stdout.write(`${TOOL_VERSION}\n`);
      return 0;
    }
    if (command === 'serve') {
      const { runServe } = await import('../../server/serve-command.js');
      return await runServe(rest, io);
    }
    // `check name@1.2.0..1.3.0`: an update to compare, not a version to check.
    if (command === 'check' && rest.some((a) => /^.+@[^@/]+\.\.[^@/]+$/.test(a))) {
      const { runCheckSemver } = await import('./check-semver-command.js');
      return await runCheckSemver(rest, io);
    }
    if (command === 'update') {
      const { runUpdate } = await import('./update-command.js');
      return await runUpdate(rest, io);
    }
    if (command === 'cache') {
      const { runCacheCommand } = await import('./cache-command.js');
      return await runCacheCommand(rest, io);
    }
    if (command !== 'audit' && command !== 'check') {
      throw new LockwardenError(
        'EUSAGE',
        `unknown command "${command}"; expected audit, check, update, serve or cache (lockwarden --help)`,
      );
    }
    return await runCheckOrAudit(command, rest, io);
  } catch (err) {
    if (isLockwardenError(err)) {
      io.stderr.write(`lockwarden: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(
      `lockwarden: unexpected error (a bug; please report it):\n${(err as Error)?.stack ?? String(err)}\n`,
    );
    return 70;
  }
}

function parseCommandArgs(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: COMMON_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LockwardenError('EUSAGE', `${(err as Error).message} (lockwarden --help)`);
  }
}

async function runCheckOrAudit(
  command: 'audit' | 'check',
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args);
  if (values.help) {
    io.stdout.write(command === 'audit' ? AUDIT_HELP : CHECK_HELP);
    return 0;
  }
  const now = resolveNow(values.now, io);
  const concurrency = optionalInteger(values.concurrency, '--concurrency', 1, 256);
  const timeoutMs = optionalInteger(values.timeout, '--timeout', 1, 600_000);
  const retries = optionalInteger(values.retries, '--retries', 0, 10);
  const dir = path.resolve(io.cwd, command === 'audit' ? (positionals[0] ?? '.') : '.');
  if (command === 'audit' && positionals.length > 1) {
    throw new LockwardenError(
      'EUSAGE',
      `audit takes one directory, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  if (command === 'audit') await assertDirectory(dir, positionals[0] ?? '.');
  if (command === 'check' && values.sbom !== undefined)
    throw new LockwardenError('EUSAGE', '--sbom describes a lockfile: use it with audit');
  const refs = command === 'check' ? await parseCheckSpecs(positionals) : [];
  const policy = await resolvePolicy(values.policy, dir, io.cwd);
  const color = io.stdout.isTTY === true && !io.env.NO_COLOR;
  // The header at once: the facts can take a while, and a blank screen reads as a hang.
  if (!values.json) io.stdout.write(`${renderHeader(policy, { color })}\n`);
  // Bad input is reported before any upstream is contacted.
  const inventory =
    command === 'audit'
      ? await (await import('../lockfile/read-lockfile.js')).readProjectLockfiles(dir, {
          ...(values.lockfile === undefined ? {} : { lockfile: values.lockfile }),
          cacheDir: resolveCacheDir({
            env: io.env,
            ...(values['cache-dir'] ? { override: values['cache-dir'] } : {}),
          }),
        })
      : undefined;
  if (inventory && values.only && values.only.length > 0) {
    const { unmatchedOnly } = await import('../engine/run-audit.js');
    const missing = unmatchedOnly(inventory, values.only);
    if (missing.length > 0) {
      throw new LockwardenError(
        'EUSAGE',
        `--only: ${missing.map((n) => JSON.stringify(n)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in ${inventory.file}; nothing would be checked for ${missing.length === 1 ? 'it' : 'them'}`,
      );
    }
  }

  const [{ readPopularList }, { createPopularIndex }] = await Promise.all([
    import('../sources/popular-list.js'),
    import('../policy/popular-index.js'),
  ]);
  const { typosquattingNeedsHistory } = await import('../policy/typosquatting.js');
  const popular: PopularIndex = createPopularIndex(readPopularList());
  const needs = factNeeds(policy);
  // A name-only policy (typosquatting, lists) needs no upstream: skip the HTTP stack entirely,
  // unless a name looks like a popular one: its packument's history may show it established, or
  // a lockfile is audited: only the registry says what its entries bundle (npm's `inBundle` entries
  // are what the lockfile says, not what the tarball carries).
  const resolvesLatest = needs.resolveLatest && refs.some((r) => r.version === null);
  const names = [...refs.map((r) => r.name), ...(inventory?.entries.map((e) => e.name) ?? [])];
  const lookalikes = policy.typosquatting && names.some((n) => typosquattingNeedsHistory(policy, n, popular));
  const bundles =
    inventory?.entries.some((await import('../engine/judge-lockfile-bundles.js')).mayBundle) === true;
  const sources =
    needs.registry ||
    needs.downloads ||
    needs.tags ||
    needs.advisories ||
    resolvesLatest ||
    lookalikes ||
    bundles
      ? await openSources(values, dir, io, {
          timeoutMs,
          retries,
          needsRegistry: needs.registry || needs.advisories || resolvesLatest || lookalikes || bundles,
          now,
        })
      : offlineSources();
  const progress = createProgress(io.stderr, {
    mode: io.stderr.isTTY === true ? (values.json ? 'off' : 'bar') : 'lines',
  });
  try {
    let report: Report;
    if (command === 'audit') {
      const { runAudit } = await import('../engine/run-audit.js');
      let audited: Awaited<ReturnType<typeof runAudit>>['inventory'];
      ({ report, inventory: audited } = await runAudit({
        dir,
        ...(policy.lockfileSource && !/^https?:\/\//.test(sources.registry.url)
          ? { registryUrl: await configuredRegistry(values.registry, dir, io) }
          : {}),
        ...(policy.lockfileSource ? { npmReplaceRegistryHost: await npmReplaceRegistryHost(dir, io) } : {}),
        ...(inventory ? { inventory } : {}),
        ...(values.lockfile === undefined ? {} : { lockfile: values.lockfile }),
        policy,
        sources,
        popular,
        now,
        ...(values.only === undefined ? {} : { only: values.only }),
        ...(concurrency === undefined ? {} : { concurrency }),
        onProgress: progress.update,
      }));
      if (values.sbom !== undefined)
        await writeSbom(path.resolve(io.cwd, values.sbom), audited, report, values.only);
    } else {
      const verdicts = await checkPackages(refs, {
        policy,
        sources,
        popular,
        now,
        ...(concurrency === undefined ? {} : { concurrency }),
        onProgress: progress.update,
      });
      report = buildReport({ verdicts, policy, now, requested: refs });
    }
    progress.done();
    if (values.stats) io.stderr.write(`${formatStats(sources)}\n`);
    if (values.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      io.stdout.write(
        renderReport(report, {
          color,
          header: false,
          verbose: values.verbose,
          noun: command === 'audit' ? 'packages' : 'names',
        }),
      );
    }
    return report.exitCode;
  } finally {
    progress.done();
    await sources.close();
  }
}

export async function openSources(
  values: {
    registry?: string | undefined;
    'downloads-url'?: string | undefined;
    'github-api-url'?: string | undefined;
    'cache-dir'?: string | undefined;
    'cache-max-mb'?: string | undefined;
    advisories?: string | undefined;
  },
  dir: string,
  io: CliIo,
  opts: {
    timeoutMs: number | undefined;
    retries: number | undefined;
    needsRegistry: boolean;
    /** The run's clock (`--now`): cache freshness and retention follow it too. */
    now?: Date;
  },
): Promise<Sources & { close(): Promise<void> }> {
  const { timeoutMs, retries } = opts;
  const { resolveSourceConfig, createSources } = await import('../sources/create-sources.js');
  const config = await resolveSourceConfig({
    flags: {
      registry: values.registry,
      downloadsUrl: values['downloads-url'],
      githubApiUrl: values['github-api-url'],
      cacheDir: values['cache-dir'],
      ...(values['cache-max-mb'] === undefined ? {} : { cacheMaxMb: Number(values['cache-max-mb']) }),
      ...(values.advisories === undefined ? {} : { advisories: values.advisories }),
      timeoutMs,
    },
    env: io.env,
    cwd: dir,
    needsRegistry: opts.needsRegistry,
  });
  if (retries !== undefined) config.http.retries = retries;
  const now = opts.now;
  return createSources(config, now ? { now: () => now } : {});
}

/** `--sbom FILE`: the CycloneDX document, written whole (to a temporary name, then renamed). */
async function writeSbom(
  file: string,
  inventory: import('../lockfile/lockfile-inventory.js').LockfileInventory,
  report: Report,
  only: readonly string[] | undefined,
): Promise<void> {
  const [{ buildSbom }, { randomUUID }, fs] = await Promise.all([
    import('../engine/build-sbom.js'),
    import('node:crypto'),
    import('node:fs/promises'),
  ]);
  const names = only && only.length > 0 ? new Set(only) : undefined;
  const sbom = buildSbom({
    inventories: [inventory],
    report,
    serialNumber: `urn:uuid:${randomUUID()}`,
    ...(names ? { audited: (e) => names.has(e.name) || (e.alias !== undefined && names.has(e.alias)) } : {}),
  });
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(temp, `${JSON.stringify(sbom, null, 2)}\n`);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => {});
    throw new LockwardenError('EUSAGE', `--sbom ${file}: cannot write: ${(err as Error).message}`);
  }
}

/** The registry installs use, without opening a source: `--registry`, else npm's configuration. */
async function configuredRegistry(flag: string | undefined, dir: string, io: CliIo): Promise<string> {
  const { normalizeRegistryUrl } = await import('../sources/registry-source.js');
  if (flag !== undefined) return normalizeRegistryUrl(flag, 'registry URL (--registry)');
  const { readNpmRegistry } = await import('../sources/npm-config.js');
  return readNpmRegistry({ cwd: dir, env: io.env });
}

/** npm's `replace-registry-host`, from the same configuration npm installs with. */
async function npmReplaceRegistryHost(dir: string, io: CliIo): Promise<string> {
  const { readNpmReplaceRegistryHost } = await import('../sources/npm-config.js');
  return readNpmReplaceRegistryHost({ cwd: dir, env: io.env });
}

/** Sources for policies that need no facts: any use is a bug, so it fails loudly. */
function offlineSources(): Sources & { close(): Promise<void> } {
  const unused = (): never => {
    throw new Error('a fact source was used although the policy needs none');
  };
  const stats = () => ({ requests: 0, bytes: 0, cacheHits: 0, errors: 0 });
  return {
    registry: { url: '', getPackument: unused, getManifest: unused, stats },
    downloads: { url: '', getWeeklyDownloads: unused, stats },
    tags: { getTags: unused, stats },
    advisories: { source: 'advisories', getAdvisories: unused, stats },
    popular: { asOf: '', packages: [] },
    close: async () => {},
  };
}

export function optionalInteger(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LockwardenError('EUSAGE', `${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

export function formatStats(sources: Pick<Sources, 'registry' | 'downloads' | 'tags'>): string {
  const parts = (['registry', 'downloads', 'tags'] as const).map((k) => {
    const s = sources[k].stats();
    return `${k}: ${s.requests} requests, ${s.bytes} bytes, ${s.cacheHits} cache hits, ${s.errors} errors`;
  });
  return `lockwarden stats: ${parts.join('; ')}`;
}

export function resolveNow(flag: string | undefined, io: CliIo): Date {
  if (flag !== undefined) {
    const t = Date.parse(flag);
    if (Number.isNaN(t))
      throw new LockwardenError('EUSAGE', `--now: expected an ISO timestamp, got "${flag}"`);
    return new Date(t);
  }
  return io.now ? io.now() : new Date();
}

/** `audit /nonexistent` says so, rather than that the directory has no lockfile. */
async function assertDirectory(dir: string, given: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LockwardenError(
      'EUSAGE',
      code === 'ENOENT' ? `${given}: no such directory` : `${given}: cannot read: ${(err as Error).message}`,
    );
  }
  if (!isDirectory)
    throw new LockwardenError(
      'EUSAGE',
      `${given}: not a directory; audit takes the project directory (use --lockfile for another file name)`,
    );
}

export async function resolvePolicy(flag: string | undefined, dir: string, cwd: string): Promise<Policy> {
  if (flag !== undefined) return readPolicyFile(path.resolve(cwd, flag));
  const found = findPolicyFile(dir);
  return found ? readPolicyFile(found) : DEFAULT_POLICY;
}
