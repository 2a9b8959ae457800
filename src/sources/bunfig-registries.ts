// bun's registries from `bunfig.toml` as bun reads them: the global file (`$XDG_CONFIG_HOME/.bunfig.toml`
// or `~/.bunfig.toml`) under the project's `bunfig.toml`, and in each:
//   [install] registry = "https://user:pass@host/" | { url, token } | { url, username, password }
//   [install.scopes] corp = (the same three forms), the key with or without its `@`
// `$VAR` and `${VAR}` in the values are taken from the environment. bun also reads `.npmrc`
// (`@scope:registry` and per-host credentials); a scope or registry in bunfig.toml overrides it.
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { LockwardenError } from '../errors.js';
import {
  type ConfigText,
  normalizeScope,
  parseRegistryUrl,
  type RegistryRoute,
  type RegistryRoutes,
  readExistingFiles,
} from './registry-routes.js';

/** The bunfig.toml files bun reads for `dir`, lowest priority first. */
export async function readBunfigFiles(
  dir: string,
  opts: { homeDir?: string; xdgConfigHome?: string },
): Promise<ConfigText[]> {
  const globalDir = opts.xdgConfigHome || opts.homeDir;
  const files = [
    ...(globalDir ? [path.join(globalDir, '.bunfig.toml')] : []),
    path.join(path.resolve(dir), 'bunfig.toml'),
  ];
  return readExistingFiles(files);
}

export function parseBunfig(file: ConfigText): Record<string, unknown> {
  try {
    return parseToml(file.text) as Record<string, unknown>;
  } catch (err) {
    // smol-toml's message quotes the offending line, which may hold a token: only its position.
    const e = err as { line?: number; column?: number };
    const at = e.line === undefined ? '' : ` (line ${e.line}, column ${e.column ?? '?'})`;
    throw new LockwardenError('ECONFIG', `${file.path} is not valid TOML${at}`);
  }
}

/** The default registry and the scoped ones the files configure (files lowest priority first). */
export function parseBunfigRegistries(files: readonly ConfigText[], env: NodeJS.ProcessEnv): RegistryRoutes {
  const out: RegistryRoutes = { scopes: new Map() };
  for (const file of files) {
    const install = parseBunfig(file).install;
    if (install === undefined) continue;
    if (!isTable(install)) throw new LockwardenError('ECONFIG', `install in ${file.path}: expected a table`);
    if (install.registry !== undefined)
      out.default = parseEntry(install.registry, `install.registry in ${file.path}`, env);
    if (install.scopes === undefined) continue;
    if (!isTable(install.scopes))
      throw new LockwardenError('ECONFIG', `install.scopes in ${file.path}: expected a table`);
    for (const [key, value] of Object.entries(install.scopes)) {
      const where = `install.scopes.${key} in ${file.path}`;
      out.scopes.set(normalizeScope(key, where), parseEntry(value, where, env));
    }
  }
  return out;
}

function parseEntry(value: unknown, where: string, env: NodeJS.ProcessEnv): RegistryRoute {
  if (typeof value === 'string') {
    const { url, authorization } = parseRegistryUrl(expand(value, env, where), where);
    return { url, origin: where, ...(authorization ? { authorization } : {}) };
  }
  if (!isTable(value))
    throw new LockwardenError(
      'ECONFIG',
      `${where}: expected a URL or a table with url and token or username/password`,
    );
  const known = new Set(['url', 'token', 'username', 'password']);
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new LockwardenError(
      'ECONFIG',
      `${where}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not supported by lockwarden update (url, token, username, password are)`,
    );
  }
  const text = (k: string) => {
    const v = value[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new LockwardenError('ECONFIG', `${where}: ${k} must be a string`);
    return expand(v, env, `${where} (${k})`);
  };
  const rawUrl = text('url');
  if (!rawUrl) throw new LockwardenError('ECONFIG', `${where}: url is missing`);
  const parsed = parseRegistryUrl(rawUrl, `${where} (url)`);
  const token = text('token');
  const username = text('username');
  const password = text('password');
  if ((username === undefined) !== (password === undefined))
    throw new LockwardenError('ECONFIG', `${where}: username and password go together`);
  const authorization = token
    ? `Bearer ${token}`
    : username !== undefined
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : parsed.authorization;
  return { url: parsed.url, origin: where, ...(authorization ? { authorization } : {}) };
}

/** `$NAME` and `${NAME}` from the environment; an unset one is an error naming the field. */
function expand(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a?: string, b?: string) => {
      const name = (a ?? b)!;
      const v = env[name];
      if (v === undefined)
        throw new LockwardenError(
          'ECONFIG',
          `${where} refers to $${name}, which is not set in the environment`,
        );
      return v;
    },
  );
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
