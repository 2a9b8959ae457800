// What a service does once it listens, before any client asks: it checks the upstream registry
// (`GET /-/ping` with the configured credentials) and builds the typosquatting tables. An upstream
// that is unreachable or refuses the credentials is then said in the log at start, not found by
// the first install's 502; and the first install does not pay for what the check sets up (the
// upstream's TLS context, a name lookup and a kept-alive connection, the HTTP parser, the tables):
// a fresh service's first answer came 57 ms sooner (medians, docs/performance.md).
import type { Logger } from 'pino';
import { findLookalike } from '../src/policy/find-lookalike.js';
import type { PopularNameIndex } from '../src/policy/popular-index.js';
import type { RegistrySource } from '../src/sources/types.js';
import { displayUrl } from './redact-url.js';

export async function warmUp(options: {
  registry: RegistrySource;
  popular: PopularNameIndex;
  logger: Logger;
  /** The service is stopping: what the check finds then says nothing about the upstream. */
  signal?: AbortSignal;
}): Promise<void> {
  const { registry, logger, signal } = options;
  // Any name: the first search builds the tables every later one uses.
  findLookalike('lockwarden-warm-up', options.popular);
  if (!registry.ping) return;
  const upstream = displayUrl(registry.url);
  const result = await registry.ping();
  if (signal?.aborted) return;
  if (!result.ok) {
    logger.warn(
      { upstream, reason: result.reason },
      'the upstream registry did not answer at start: installs get 502s until it does',
    );
  } else if (result.statusCode === 401 || result.statusCode === 403) {
    logger.warn(
      { upstream, status: result.statusCode },
      'the upstream registry refused the configured credentials at start (--upstream-token, or npm config)',
    );
  } else if (result.statusCode >= 500) {
    logger.warn(
      { upstream, status: result.statusCode },
      'the upstream registry answered with an error at start',
    );
  } else {
    // 404 included: a registry without the endpoint still answered.
    logger.info({ upstream, status: result.statusCode, ms: result.ms }, 'upstream registry reachable');
  }
}
