// Arborist's resolution errors, retold for `lockwarden update`: what the policy held back, which
// packument was unavailable, which URL Arborist could not fetch (without its credentials).
import semver from 'semver';
import { LockwardenError } from '../errors.js';
import { describeSkip } from '../policy/update-candidates.js';
import { PackumentUnavailableError, type PolicyPackumentCache } from './policy-packument-cache.js';

/** Arborist's resolution errors, retold with what the policy held back. */
export function explainResolveError(err: unknown, cache: PolicyPackumentCache, now: Date): unknown {
  const failure = findUnavailable(err, cache);
  if (failure) {
    return new LockwardenError(
      failure.notFound ? 'ELOCKFILE' : 'EUNAVAILABLE',
      failure.notFound
        ? `the registry does not know ${failure.packageName}, which the project depends on; nothing was written`
        : `cannot update: the packument of ${failure.packageName} is unavailable (${failure.reason}); nothing was written`,
      { cause: err },
    );
  }
  const e = err as { code?: string; message?: string; pkgid?: string; statusCode?: unknown; uri?: unknown };
  // What Arborist fetches itself (remote tarballs, git): an HTTP error from npm-registry-fetch.
  if (typeof e?.statusCode === 'number' && typeof e.uri === 'string') {
    const auth = e.statusCode === 401 || e.statusCode === 403;
    return new LockwardenError(
      'EUNAVAILABLE',
      `cannot update: ${withoutCredentials(e.uri)} answered HTTP ${e.statusCode}${auth ? ' (check the credentials your npm configuration has for that host)' : ''}; nothing was written`,
      { cause: err },
    );
  }
  // A tarball Arborist reads for a bundle or shrinkwrap that cannot be reached at all.
  const unreachable = /^request to (\S+) failed, reason: (.*)$/.exec(String(e?.message ?? ''));
  if ((err as Error)?.name === 'FetchError' && unreachable) {
    return new LockwardenError(
      'EUNAVAILABLE',
      `cannot update: ${withoutCredentials(unreachable[1]!)} could not be fetched (${e.code ?? unreachable[2]}); nothing was written`,
      { cause: err },
    );
  }
  if (e?.code === 'EINTEGRITY') {
    return new LockwardenError(
      'ELOCKFILE',
      `cannot update: a tarball did not match the integrity the lockfile records (${String(e.message).split('\n')[0]}); nothing was written`,
      { cause: err },
    );
  }
  if (e?.code === 'ETARGET' || e?.code === 'ENOVERSIONS') {
    const m = /for (.+)@(.*?)\.?$/.exec(String(e.message ?? ''));
    const name = m?.[1] ?? String(e.pkgid ?? '').replace(/@[^@]*$/, '');
    const range = m?.[2] ?? '';
    const hidden = cache.decisions().get(name)?.hidden;
    const held = hidden
      ? [...hidden]
          .filter(([v]) => range === '' || semver.validRange(range) === null || semver.satisfies(v, range))
          .slice(-5)
          .map(([v, f]) => `${name}@${v}: ${describeSkip(f, now)}`)
      : [];
    return new LockwardenError(
      'EBLOCKED',
      `the policy allows no version of ${name} matching "${range}"${held.length > 0 ? `:\n  ${held.join('\n  ')}` : ''}\nWiden the range, wait, or add an allow entry with a reason; nothing was written`,
      { cause: err },
    );
  }
  return err;
}

/** A URL for a message: no `user:password@`, no query (tokens ride in both). */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}

function findUnavailable(err: unknown, cache: PolicyPackumentCache): PackumentUnavailableError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof PackumentUnavailableError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  // Arborist may rethrow a copy; the cache remembers what failed.
  const failures = [...cache.failures().values()];
  return failures.find((f) => String((err as Error)?.message ?? '').includes(f.packageName)) ?? undefined;
}
