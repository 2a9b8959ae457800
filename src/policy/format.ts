// Small, pure text helpers shared by the guardrail messages.

const DAY_MS = 24 * 3600 * 1000;

/** Parses the timestamp forms registries emit: `...786Z`, `...786000+00:00`, `+0000`, no zone (UTC). */
export function parsePublishTime(raw: string): number | null {
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      raw.trim(),
    );
  if (!m) return null;
  const [, date, time = '00:00:00', fraction = '', zone = 'Z'] = m;
  const ms = fraction.padEnd(3, '0').slice(0, 3);
  const tz =
    zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const t = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}.${ms}${tz}`);
  return Number.isNaN(t) ? null : t;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `3 hours`, `2.5 days`, `40 days`: precise when young, coarse when old. */
export function formatAge(ms: number): string {
  const hours = ms / 3600000;
  if (hours < 1) return `${Math.max(0, Math.round(ms / 60000))} minutes`;
  if (hours < 48) return `${Math.round(hours)} hours`;
  const days = ms / DAY_MS;
  return `${days < 10 ? Math.round(days * 10) / 10 : Math.round(days)} days`;
}

/** 1,234,567 — for thresholds, where exact numbers matter. */
export function formatInteger(n: number): string {
  // Not toLocaleString: its first call loads ICU's locale data, 40-300 ms of a `lockwarden check`
  // that prints one threshold (measured on the 2-core CI machine kind, 2026-12-05).
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function spec(name: string, version: string | null): string {
  return version === null ? name : `${name}@${version}`;
}

export { DAY_MS };
