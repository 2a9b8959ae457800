// Registry traffic is unauthenticated, and the label in the URL and the User-Agent header are
// whatever the client says. Deduplicating per label and user agent stops one client retrying from
// crowding the audit log; this also caps how many distinct labels and user agents are logged for
// one subject (a package version and rule) per window, so a script inventing labels cannot push
// real entries out of a log bounded by count, nor grow the service's memory.

export interface AuditThrottleOptions {
  /** The same subject and variant is logged again after this long. */
  windowMs: number;
  /** Distinct variants (label, user agent) logged per subject per window. */
  maxVariantsPerSubject: number;
  /** Keys remembered at most; the least recently logged are forgotten first. */
  maxKeys: number;
}

export interface AuditThrottleStats {
  /** Events not logged because their subject had reached its variants for the window. */
  suppressed: number;
}

export interface AuditThrottle {
  /** Whether this event is logged; when it is, the next identical one within the window is not. */
  admit(subject: string, variant: string, nowMs: number): boolean;
  stats(): AuditThrottleStats;
}

export function createAuditThrottle(options: AuditThrottleOptions): AuditThrottle {
  const loggedAt = new Map<string, number>();
  const subjects = new Map<string, { windowStartMs: number; variants: number }>();
  let suppressed = 0;

  function remember<V>(map: Map<string, V>, key: string, value: V): void {
    // Map order is the LRU order: re-inserting moves the key to the young end.
    map.delete(key);
    map.set(key, value);
    if (map.size > options.maxKeys) map.delete(map.keys().next().value as string);
  }

  return {
    admit(subject, variant, nowMs) {
      const key = `${subject}\u0000${variant}`;
      const last = loggedAt.get(key);
      if (last !== undefined && nowMs - last < options.windowMs) return false;
      let window = subjects.get(subject);
      if (!window || nowMs - window.windowStartMs >= options.windowMs)
        window = { windowStartMs: nowMs, variants: 0 };
      if (window.variants >= options.maxVariantsPerSubject) {
        suppressed++;
        return false;
      }
      window.variants++;
      remember(subjects, subject, window);
      remember(loggedAt, key, nowMs);
      return true;
    },
    stats: () => ({ suppressed }),
  };
}
