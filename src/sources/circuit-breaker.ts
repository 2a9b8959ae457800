// One origin's circuit breaker: after `threshold` attempts in a row fail (name resolution,
// connect, timeouts, 5xx), further attempts fail at once for `cooldownMs` — queued requests and
// retries included — so an upstream that is down costs a few timeouts per run, not one per
// package. After the cool-down exactly one probe goes out; its outcome closes or reopens it.

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
  /** `probe`: the one request let through while half-open; `refused`: fail without asking. */
  admit(): 'closed' | 'probe' | 'refused';
  success(): void;
  failure(reason: string): void;
  snapshot(): BreakerSnapshot;
}

export function createCircuitBreaker(opts: BreakerOptions): CircuitBreaker {
  let failures = 0;
  let openedAtMs: number | undefined;
  let lastFailure: string | undefined;
  let probing = false;

  return {
    admit() {
      if (openedAtMs === undefined) return 'closed';
      if (probing || opts.now() - openedAtMs < opts.cooldownMs) return 'refused';
      probing = true;
      return 'probe';
    },
    success() {
      failures = 0;
      openedAtMs = undefined;
      probing = false;
    },
    failure(reason) {
      if (opts.threshold <= 0) return;
      failures++;
      lastFailure = reason;
      if (probing) {
        probing = false;
        openedAtMs = opts.now();
      } else if (openedAtMs === undefined && failures >= opts.threshold) {
        openedAtMs = opts.now();
      }
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
