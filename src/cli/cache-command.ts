// `lockwarden cache prune|clear`: keep the on-disk cache small, or empty it.
import { parseArgs } from 'node:util';
import { LockwardenError } from '../errors.js';
import {
  type CacheUsage,
  clearCache,
  DEFAULT_CACHE_MAX_BYTES,
  DOCUMENT_RETENTION_MS,
  FACTS_UNUSED_DAYS,
  pruneCache,
} from '../sources/cache-maintenance.js';
import { cacheLimit } from '../sources/create-sources.js';
import { resolveCacheDir } from '../sources/disk-cache.js';
import type { CliIo } from './main.js';

const HELP = `lockwarden cache prune [options]   drop old documents, unused facts, and the oldest beyond the limit
lockwarden cache clear [options]   remove lockwarden's cache files

The cache keeps whole upstream documents for ${DOCUMENT_RETENTION_MS / 3600000} hours (re-runs, outages, ETags) and the facts of
published versions that never change (publish time, repository, integrity) until unused for
${FACTS_UNUSED_DAYS} days, within a size limit. Every run that uses the cache prunes it when it ends.

Options:
  --cache-dir DIR        the cache (env LOCKWARDEN_CACHE_DIR; default: user cache dir)
  --cache-max-mb N       size limit (env LOCKWARDEN_CACHE_MAX_MB; default ${DEFAULT_CACHE_MAX_BYTES / 1024 / 1024})
  -h, --help             this help
`;

export async function runCacheCommand(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    throw new LockwardenError('EUSAGE', `${(err as Error).message} (lockwarden cache --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [action, ...extra] = positionals;
  if ((action !== 'prune' && action !== 'clear') || extra.length > 0) {
    throw new LockwardenError(
      'EUSAGE',
      `cache: expected "prune" or "clear", got ${JSON.stringify(positionals.join(' '))} (lockwarden cache --help)`,
    );
  }
  const dir = resolveCacheDir({
    env: io.env,
    ...(values['cache-dir'] ? { override: values['cache-dir'] } : {}),
  });
  if (action === 'clear') {
    const before = clearCache(dir);
    io.stdout.write(`lockwarden cache: cleared ${dir} (${formatUsage(before)})\n`);
    return 0;
  }
  const limit = cacheLimit(
    values['cache-max-mb'] === undefined ? undefined : Number(values['cache-max-mb']),
    io.env,
  );
  const report = pruneCache(dir, {
    now: io.now ? io.now() : new Date(),
    ...(limit.cacheMaxBytes === undefined ? {} : { maxBytes: limit.cacheMaxBytes }),
  });
  io.stdout.write(
    `lockwarden cache: ${dir}: ${formatUsage(report.before)} -> ${formatUsage(report.after)}; ${report.documentsRemoved} documents and ${report.factsRemoved} version facts removed\n`,
  );
  return 0;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      'cache-dir': { type: 'string' },
      'cache-max-mb': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

function formatUsage(u: CacheUsage): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return `${mb(u.documentBytes + u.factBytes)}: documents ${mb(u.documentBytes)}, facts ${mb(u.factBytes)}`;
}
