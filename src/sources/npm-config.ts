// The registry the user's npm is configured with, so lockwarden checks what npm would install
// and never names a registry host itself. The .npmrc files are read directly (fast); only when
// none sets a registry is npm asked, once, for its built-in default.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import ini from 'ini';
import { LockwardenError } from '../errors.js';
import { normalizeRegistryUrl } from './registry-source.js';

export interface NpmConfigOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Home directory for `~/.npmrc`; defaults to `HOME`/`USERPROFILE` from `env`. */
  homeDir?: string;
  /** The npm executable asked for the built-in default. */
  npmCommand?: string;
  npmTimeoutMs?: number;
}

interface ConfigLayer {
  /** Where the values came from, for error messages. */
  origin: string;
  values: Record<string, unknown>;
}

/** The configured registry URL, with a trailing slash. Throws ECONFIG when none can be found or it is invalid. */
export async function readNpmRegistry(opts: NpmConfigOptions): Promise<string> {
  for (const layer of await readConfigLayers(opts)) {
    const value = layer.values.registry;
    if (typeof value === 'string' && value.trim() !== '') {
      return normalizeRegistryUrl(expandEnv(value, opts.env, layer.origin), `registry in ${layer.origin}`);
    }
  }
  return normalizeRegistryUrl(await runNpmConfigGet(opts), 'registry printed by `npm config get registry`');
}

/**
 * `@scope:registry` settings: npm installs packages of those scopes from their own registry, so
 * their facts must come from there too (a public package of the same name is another package).
 */
export async function readNpmScopeRegistries(opts: NpmConfigOptions): Promise<Map<string, string>> {
  const scopes = new Map<string, string>();
  for (const layer of await readConfigLayers(opts)) {
    for (const [key, value] of Object.entries(layer.values)) {
      const m = /^(@[a-z0-9][a-z0-9._~-]*):registry$/i.exec(key);
      if (!m || typeof value !== 'string' || value.trim() === '') continue;
      const scope = m[1]!.toLowerCase();
      if (scopes.has(scope)) continue; // an earlier layer takes precedence
      scopes.set(
        scope,
        normalizeRegistryUrl(expandEnv(value, opts.env, layer.origin), `${key} in ${layer.origin}`),
      );
    }
  }
  return scopes;
}

/** The `//host/path/:_authToken` for `registryUrl`, the most specific path first, or undefined. */
export async function readNpmAuthToken(
  registryUrl: string,
  opts: NpmConfigOptions,
): Promise<string | undefined> {
  const url = new URL(registryUrl);
  const segments = url.pathname.split('/').filter(Boolean);
  const candidates: string[] = [];
  for (let i = segments.length; i >= 0; i--) {
    const path = segments.slice(0, i).join('/');
    candidates.push(`//${url.host}/${path ? `${path}/` : ''}:_authToken`);
  }
  const layers = await readConfigLayers(opts);
  for (const key of candidates) {
    for (const layer of layers) {
      const value = layer.values[key];
      if (typeof value === 'string' && value !== '') return expandEnv(value, opts.env, layer.origin);
    }
  }
  return undefined;
}

/** Config layers by precedence: environment, project `.npmrc` files (nearest first), user, global. */
async function readConfigLayers(opts: NpmConfigOptions): Promise<ConfigLayer[]> {
  const layers: ConfigLayer[] = [{ origin: 'the environment', values: readEnvConfig(opts.env) }];
  const home = opts.homeDir ?? opts.env.HOME ?? opts.env.USERPROFILE;
  const userConfig = envValue(opts.env, 'npm_config_userconfig') ?? (home ? join(home, '.npmrc') : undefined);
  const prefix =
    envValue(opts.env, 'npm_config_prefix') ?? opts.env.PREFIX ?? dirname(dirname(process.execPath));
  const globalConfig = envValue(opts.env, 'npm_config_globalconfig') ?? join(prefix, 'etc', 'npmrc');

  let dir = resolve(opts.cwd);
  for (;;) {
    const file = join(dir, '.npmrc');
    if (file !== (userConfig && resolve(userConfig))) {
      const values = await readIniFile(file);
      if (values) layers.push({ origin: file, values });
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const file of [userConfig, globalConfig]) {
    if (!file) continue;
    const values = await readIniFile(resolve(opts.cwd, file));
    if (values) layers.push({ origin: file, values });
  }
  return layers;
}

async function readIniFile(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return ini.parse(text) as Record<string, unknown>;
}

/** `npm_config_*` variables, case-insensitive, as npm reads them (`_` in the key stays `_`). */
function readEnvConfig(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || !/^npm_config_/i.test(key)) continue;
    values[key.slice('npm_config_'.length).toLowerCase()] = value;
  }
  return values;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  for (const [key, value] of Object.entries(env)) {
    if (key.toLowerCase() === name && value) return value;
  }
  return undefined;
}

/** npm's `${VAR}` substitution; `${VAR?}` may be unset. */
function expandEnv(value: string, env: NodeJS.ProcessEnv, origin: string): string {
  return value.replace(
    /(\\*)\$\{([^${}?]+)(\?)?\}/g,
    (whole, escapes: string, name: string, optional?: string) => {
      if (escapes.length % 2 === 1) return whole.slice(1);
      const replacement = env[name];
      if (replacement === undefined && !optional) {
        throw new LockwardenError(
          'ECONFIG',
          `${origin} refers to \${${name}}, which is not set in the environment`,
        );
      }
      return escapes + (replacement ?? '');
    },
  );
}

function runNpmConfigGet(opts: NpmConfigOptions): Promise<string> {
  const command = opts.npmCommand ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      ['config', 'get', 'registry'],
      {
        cwd: opts.cwd,
        env: opts.env,
        timeout: opts.npmTimeoutMs ?? 15_000,
        shell: process.platform === 'win32',
      },
      (err, stdout, stderr) => {
        const value = stdout.trim().split('\n').at(-1)?.trim() ?? '';
        if (err || value === '') {
          const why = err ? (stderr.trim().split('\n').at(-1) ?? err.message) : 'it printed nothing';
          reject(
            new LockwardenError(
              'ECONFIG',
              `could not determine the npm registry: no .npmrc sets it and \`npm config get registry\` failed (${why}); pass --registry or set npm_config_registry`,
              { cause: err ?? undefined },
            ),
          );
          return;
        }
        resolvePromise(value);
      },
    );
  });
}
