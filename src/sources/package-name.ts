// Package names reach URLs here, so they are checked before any request: a name that is not a
// valid npm name (`..`, `a/b`, `%2e%2e`, control characters) must never become a path upstream.
import { LockwardenError } from '../errors.js';

const MAX_NAME_LENGTH = 214;

/** Why `name` is not a valid npm package name, or undefined when it is. Accepts legacy upper-case names. */
export function explainInvalidPackageName(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'name is empty';
  if (name.length > MAX_NAME_LENGTH) return `name is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.trim() !== name) return 'name has leading or trailing whitespace';
  let local = name;
  if (name.startsWith('@')) {
    const slash = name.indexOf('/');
    if (slash < 0) return 'scoped name has no "/"';
    const scope = name.slice(1, slash);
    local = name.slice(slash + 1);
    if (scope === '' || !isUrlSafe(scope) || scope.startsWith('.')) return `scope "@${scope}" is not valid`;
  }
  if (local === '') return 'name is empty after the scope';
  if (local.startsWith('.') || local.startsWith('_')) return 'name starts with "." or "_"';
  if (!isUrlSafe(local)) return 'name contains characters that are not URL-safe ("/", "%", spaces, ...)';
  return undefined;
}

/** Throws EINVALIDNAME for names no registry request may be built from. */
export function assertValidPackageName(name: string, context: string): void {
  const why = explainInvalidPackageName(name);
  if (why !== undefined) {
    throw new LockwardenError(
      'EINVALIDNAME',
      `${context}: ${JSON.stringify(name)} is not a valid npm package name: ${why}`,
    );
  }
}

/** The path segment a registry expects: `@scope%2fname` for scoped names. Assumes a valid name. */
export function encodePackageName(name: string): string {
  // Lower-case `%2f`, as npm itself sends it (some registries only route that spelling).
  return name.startsWith('@')
    ? `@${encodeURIComponent(name.slice(1)).replace('%2F', '%2f')}`
    : encodeURIComponent(name);
}

/** Why a version string cannot be used in `/<name>/<version>`, or undefined when it can. */
export function explainInvalidVersionSegment(version: string): string | undefined {
  if (typeof version !== 'string' || version.length === 0) return 'version is empty';
  if (version.length > 256) return 'version is longer than 256 characters';
  if (version === '.' || version === '..') return 'version is a path segment';
  if (!/^[0-9A-Za-z.+_-]+$/.test(version)) return 'version contains characters a version cannot have';
  return undefined;
}

function isUrlSafe(part: string): boolean {
  // encodeURIComponent leaves `!'()*~` alone; npm forbids them in new names but old names have them.
  return encodeURIComponent(part) === part;
}
