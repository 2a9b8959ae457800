// Which registry each package comes from, and with which credentials, as a package manager's own
// configuration says: a default registry and one per scope. The readers (npm's `.npmrc` through
// npm-config.ts, Yarn Berry's `.yarnrc.yml`, bun's `bunfig.toml`) all produce this shape, so
// `lockwarden update` routes every scope to its registry whichever tool the project uses.
import { readFile } from 'node:fs/promises';
import { LockwardenError } from '../errors.js';
import { normalizeRegistryUrl } from './registry-source.js';

export interface RegistryRoute {
  /** Base URL with a trailing slash and never any credentials in it. */
  url: string;
  /** The `authorization` header for this registry's host (a secret: never log it). */
  authorization?: string;
  /** Where it was configured, for messages: `npmScopes.corp in /app/.yarnrc.yml` (no values). */
  origin: string;
}

export interface RegistryRoutes {
  /** Undefined: the file names no default registry, so the next source of one applies. */
  default?: RegistryRoute;
  /** `@scope` (lower case) → its registry. */
  scopes: Map<string, RegistryRoute>;
}

/** A configuration file's text and where it is, for readers that get it from elsewhere in tests. */
export interface ConfigText {
  path: string;
  text: string;
}

/** `@corp/lib` → `@corp`; undefined for an unscoped name. */
export function scopeOf(name: string): string | undefined {
  if (!name.startsWith('@')) return undefined;
  const slash = name.indexOf('/');
  return slash > 1 ? name.slice(0, slash).toLowerCase() : undefined;
}

/** `corp` or `@corp` → `@corp`; an invalid scope name is an error naming the field. */
export function normalizeScope(raw: string, where: string): string {
  const scope = (raw.startsWith('@') ? raw : `@${raw}`).toLowerCase();
  if (!/^@[a-z0-9][a-z0-9._~-]*$/.test(scope))
    throw new LockwardenError('ECONFIG', `${where}: ${JSON.stringify(raw)} is not a valid npm scope`);
  return scope;
}

/**
 * A registry URL from a configuration file: http(s), normalized with a trailing slash, and any
 * `user:password@` taken out of it into a Basic `authorization` (the URL shows up in messages).
 * Errors name the field and file but never echo a value that carried credentials.
 */
export function parseRegistryUrl(raw: string, where: string): { url: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new LockwardenError('ECONFIG', `${where} is not a valid URL`);
  }
  let authorization: string | undefined;
  if (parsed.username || parsed.password) {
    authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new LockwardenError('ECONFIG', `${where} must be an http:// or https:// URL`);
  return { url: normalizeRegistryUrl(parsed.href, where), ...(authorization ? { authorization } : {}) };
}

/** Same scheme, host and port: where a credential configured for one registry may also go. */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The files of `paths` that exist, in order; one that exists but cannot be read is an error. */
export async function readExistingFiles(paths: readonly string[]): Promise<ConfigText[]> {
  const out: ConfigText[] = [];
  for (const file of paths) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR') return undefined;
      throw new LockwardenError('ECONFIG', `${file} could not be read: ${err.code ?? err.message}`);
    });
    if (text !== undefined) out.push({ path: file, text });
  }
  return out;
}
