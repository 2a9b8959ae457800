// One origin's circuit breaker: after `threshold` attempts in a row fail (name resolution,
// connect, timeouts, 5xx), further attempts fail at once for `cooldownMs` — queued requests and
// retries included — so an upstream that is down costs a few timeouts per run, not one per
// package. After the cool-down exactly one probe goes out; its outcome closes or reopens it.
//
// Between a first timeout and the threshold the origin is suspect: a new attempt waits (`ready`)
// until an attempt already in flight succeeds (the origin is up: go on) or until they have all
// failed (the breaker is then open and the new attempt is refused). Without that wait, a hanging
// origin with 16 requests in flight let one new request out per timeout until the threshold was
// reached, and each of those paid a whole deadline again: an outage cost two deadlines, not one.
// Only a timeout makes it suspect: an error that came at once (a 5xx, a refused or reset
// connection) proves the origin answers and costs the next attempt no deadline, while holding
// new attempts behind a slow download in flight failed them on a healthy origin.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** 0 disables the breaker. */
  threshold: number;
  cooldownMs: number;
  /** Injected like `sleep` and `random`. */
  now: () => number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failed attempts in a row. */
  failures: number;
  lastFailure?: string;
  /** When the breaker last opened (ms on the injected clock). */
  openedAtMs?: number;
}

export interface CircuitBreaker {
  /**
   * Resolves once an attempt may be admitted or refused: at once, unless the origin is suspect
   * (an attempt timed out, none succeeded since, others are still in flight). An aborted signal
   * resolves it too (the caller's deadline passed).
   */
  ready(signal?: AbortSignal): Promise<void>;
  /** Whether `ready` would wait now (callers skip it, and making its signal, when not). */
  suspect(): boolean;
  /**
   * `probe`: the one request let through while half-open; `refused`: fail without asking. An
   * admitted attempt (closed or probe) is in flight until `success` or `failure` reports it.
   */
  admit(): 'closed' | 'probe' | 'refused';
  success(): void;
  /** `timedOut`: the attempt got no answer in time (the origin may hang), not an error at once. */
  failure(reason: string, opts?: { timedOut?: boolean }): void;
  snapshot(): BreakerSnapshot;
}

export function createCircuitBreaker(opts: BreakerOptions): CircuitBreaker {
  let failures = 0;
  let openedAtMs: number | undefined;
  let lastFailure: string | undefined;
  let probing = false;
  let inFlight = 0;
  /** An attempt timed out since the last success. */
  let timedOut = false;
  const waiters = new Set<() => void>();
  const suspect = () => opts.threshold > 0 && openedAtMs === undefined && timedOut && inFlight > 0;
  const settled = () => {
    inFlight = Math.max(0, inFlight - 1);
    if (waiters.size > 0) for (const wake of [...waiters]) wake();
  };

  return {
    async ready(signal) {
      while (suspect() && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            signal?.removeEventListener('abort', wake);
            resolve();
          };
          waiters.add(wake);
          signal?.addEventListener('abort', wake, { once: true });
        });
      }
    },
    suspect,
    admit() {
      if (openedAtMs === undefined) {
        inFlight++;
        return 'closed';
      }
      if (probing || opts.now() - openedAtMs < opts.cooldownMs) return 'refused';
      probing = true;
      inFlight++;
      return 'probe';
    },
    success() {
      failures = 0;
      timedOut = false;
      openedAtMs = undefined;
      probing = false;
      settled();
    },
    failure(reason, how) {
      if (opts.threshold <= 0) return settled();
      failures++;
      if (how?.timedOut ?? true) timedOut = true;
      lastFailure = reason;
      if (probing) {
        probing = false;
        openedAtMs = opts.now();
      } else if (openedAtMs === undefined && failures >= opts.threshold) {
        openedAtMs = opts.now();
      }
      settled();
    },
    snapshot() {
      const state: BreakerState =
        openedAtMs === undefined
          ? 'closed'
          : probing || opts.now() - openedAtMs >= opts.cooldownMs
            ? 'half-open'
            : 'open';
      return {
        state,
        failures,
        ...(lastFailure !== undefined ? { lastFailure } : {}),
        ...(openedAtMs !== undefined ? { openedAtMs } : {}),
      };
    },
  };
}
