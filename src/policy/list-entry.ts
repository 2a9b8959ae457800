// Allow/block list entries: `name`, `@scope/*`, globs such as `eslint-plugin-*`, and `name@<range>`.
import semver from 'semver';
import type { ListEntry } from './types.js';

const NAME_PATTERN = /^(@[a-z0-9*][a-z0-9._~*-]*\/)?[a-z0-9*][a-z0-9._~*-]*$/;

/** Splits `name@range` (scoped or not) and checks both halves; returns a problem text on failure. */
export function parseListSpec(spec: string): { namePattern: string; range?: string } | { problem: string } {
  const trimmed = spec.trim();
  if (trimmed === '') return { problem: 'expected a package name, scope or glob, got an empty string' };
  const at = trimmed.indexOf('@', trimmed.startsWith('@') ? 1 : 0);
  const namePattern = (at === -1 ? trimmed : trimmed.slice(0, at)).toLowerCase();
  const range = at === -1 ? undefined : trimmed.slice(at + 1).trim();
  if (!NAME_PATTERN.test(namePattern) || namePattern.length > 214) {
    return {
      problem: `expected a package name, "@scope/*", a glob like "eslint-plugin-*" or "name@<semver range>", got ${JSON.stringify(spec)}`,
    };
  }
  if (range !== undefined) {
    if (range === '' || semver.validRange(range, { loose: true }) === null) {
      return {
        problem: `expected a semver range after "@", got ${JSON.stringify(range)} in ${JSON.stringify(spec)}`,
      };
    }
    return { namePattern, range };
  }
  return { namePattern };
}

const globCache = new Map<string, RegExp>();

function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    // `*` never crosses the scope separator: `eslint-plugin-*` must not match `@evil/eslint-plugin-x`.
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
    re = new RegExp(`^${body}$`);
    globCache.set(pattern, re);
  }
  return re;
}

export function matchesName(entry: ListEntry, name: string): boolean {
  const pattern = entry.namePattern;
  if (!pattern.includes('*')) return pattern === name.toLowerCase();
  return globToRegExp(pattern).test(name.toLowerCase());
}

/** Whether an entry covers name@version. A null version (name-level check) matches range-free entries only. */
export function matchesEntry(entry: ListEntry, name: string, version: string | null): boolean {
  if (!matchesName(entry, name)) return false;
  if (entry.range === undefined) return true;
  if (version === null) return false;
  return semver.satisfies(version, entry.range, { includePrerelease: true, loose: true });
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
// RFC 3339 with an explicit zone: anything else would be read in the host's time zone, and the
// same policy would expire at different moments on a laptop, a CI runner and the service.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Expiry is inclusive: `expires: 2026-12-31` applies through that whole UTC day. NaN when malformed. */
export function expiryTime(expires: string): number {
  if (DATE_ONLY.test(expires)) {
    const t = Date.parse(`${expires}T00:00:00Z`);
    // Date.parse rolls 2027-02-30 over to March; a typo in a date must not move the expiry.
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== expires) return Number.NaN;
    return t + 24 * 3600 * 1000;
  }
  return TIMESTAMP.test(expires) ? Date.parse(expires) : Number.NaN;
}

export function isExpired(entry: Pick<ListEntry, 'expires'>, now: Date): boolean {
  return entry.expires !== undefined && expiryTime(entry.expires) <= now.getTime();
}
