// npm's configuration as npm itself reads it, through @npmcli/config (npm's own loader): builtin,
// global, user and project `.npmrc` (the project's at the project root only), `npm_config_*`
// variables, `${VAR}` substitution and npm's defaults. From it: the registry lockwarden checks
// against (so it never names a registry host itself), scoped registries, the credentials npm would
// send to a URL (nerf-darted `_authToken`, `_auth`, `username`/`_password`), and how npm reaches
// the network (`proxy`, `https-proxy`, `noproxy`, HTTP(S)_PROXY/NO_PROXY, `ca`, `cafile`,
// `strict-ssl`).
import { realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import Config from '@npmcli/config';
import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import envReplace from '@npmcli/config/lib/env-replace.js';
import nerfDart from '@npmcli/config/lib/nerf-dart.js';
import ini from 'ini';
import { LockwardenError } from '../errors.js';
import { type NetworkConfig, networkFromEnv } from './network-config.js';
import { normalizeRegistryUrl } from './registry-source.js';

const { definitions, flatten, shorthands } = npmDefinitions;

export interface NpmConfigOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Home directory for `~/.npmrc`; defaults to `HOME` from `env`. */
  homeDir?: string;
  /**
   * The project's `.npmrc` supplied from elsewhere instead of the file at the project root (the
   * Action reads it at the pull request's base commit: the head's copy is untrusted). `null`: the
   * project has none.
   */
  projectNpmrc?: { text: string; origin: string } | null;
  /** npm's own directory, for its builtin `npmrc`; found from `npm_execpath` or PATH by default. */
  npmPath?: string;
}

export interface NpmConfig {
  /** The default registry, with a trailing slash. */
  registry: string;
  /** `@scope` (lower case) -> registry URL. */
  scopeRegistries: Map<string, string>;
  /** The `authorization` header npm would send to `url`, or undefined. */
  authorizationFor(url: string): string | undefined;
  network: NetworkConfig;
  /**
   * `replace-registry-host` (`npmjs` by default, `never`, `always`, a host name or a URL): which
   * lockfile URLs npm fetches from the configured registry instead (the lockfile-source rule).
   */
  replaceRegistryHost: string;
  /**
   * npm's flattened options, as npm hands them to Arborist and pacote (registry, `@scope:registry`,
   * nerf-darted credentials, proxy, ca, strict-ssl, `omit-lockfile-registry-resolved`...): for
   * `lockwarden update`, which resolves with Arborist. Holds secrets: never log or serialize it.
   */
  flat: Readonly<Record<string, unknown>>;
}

const loaded = new WeakMap<NpmConfigOptions, Promise<NpmConfig>>();

/** npm's configuration for `opts`, loaded once per options object (one run asks several times). */
export function loadNpmConfig(opts: NpmConfigOptions): Promise<NpmConfig> {
  let p = loaded.get(opts);
  if (!p) {
    p = load(opts);
    p.catch(() => loaded.delete(opts));
    loaded.set(opts, p);
  }
  return p;
}

/** The configured registry URL, with a trailing slash. Throws ECONFIG when it is invalid. */
export async function readNpmRegistry(opts: NpmConfigOptions): Promise<string> {
  return (await loadNpmConfig(opts)).registry;
}

/** npm's `replace-registry-host` (what it rewrites in lockfiles to the configured registry). */
export async function readNpmReplaceRegistryHost(opts: NpmConfigOptions): Promise<string> {
  return (await loadNpmConfig(opts)).replaceRegistryHost;
}

/**
 * `@scope:registry` settings: npm installs packages of those scopes from their own registry, so
 * their facts must come from there too (a public package of the same name is another package).
 */
export async function readNpmScopeRegistries(opts: NpmConfigOptions): Promise<Map<string, string>> {
  return (await loadNpmConfig(opts)).scopeRegistries;
}

/** The `authorization` header npm would send to `url` (the most specific nerf-darted path first). */
export async function readNpmAuthorization(url: string, opts: NpmConfigOptions): Promise<string | undefined> {
  return (await loadNpmConfig(opts)).authorizationFor(url);
}

async function load(opts: NpmConfigOptions): Promise<NpmConfig> {
  const env = { ...opts.env, ...(opts.homeDir ? { HOME: opts.homeDir, USERPROFILE: opts.homeDir } : {}) };
  const supplied = opts.projectNpmrc;
  // npm's loader reads the project file itself; the one hook for supplying it from elsewhere is the
  // project step, which then takes the text through the same parsing (`${VAR}`, types) npm uses.
  class SuppliedProjectConfig extends Config {
    override async loadProjectConfig() {
      if (supplied === undefined) return super.loadProjectConfig();
      await this.loadLocalPrefix();
      const layer = this.data.get('project')!;
      layer.source = supplied ? supplied.origin : '(supplied: none)';
      this.sources.set(layer.source, 'project');
      if (!supplied) return;
      const raw = ini.parse(supplied.text) as Record<string, unknown>;
      layer.raw = raw;
      for (const [k, v] of Object.entries(raw)) {
        const name = envReplace(k, this.env);
        layer.data[name] = this.parseField(v, name);
      }
    }
  }
  const config = new SuppliedProjectConfig({
    definitions,
    flatten,
    shorthands,
    npmPath: opts.npmPath ?? findNpmPath(env) ?? join(opts.cwd, '.no-npm-install'),
    env,
    argv: [process.execPath, 'lockwarden'],
    cwd: opts.cwd,
    execPath: process.execPath,
    platform: process.platform,
    warn: false,
  });
  try {
    await config.load();
  } catch (err) {
    throw new LockwardenError('ECONFIG', `npm configuration could not be read: ${(err as Error).message}`, {
      cause: err,
    });
  }

  const text = (key: string): string | undefined => {
    const v = config.get(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const registry = normalizeRegistryUrl(
    checkExpanded(valueFrom(config, 'registry'), 'registry'),
    `registry in ${originOf(config, 'registry')}`,
  );

  const scopeRegistries = new Map<string, string>();
  // Every layer's keys, most important layer first (`config.get` resolves the value).
  for (const where of LAYERS) {
    for (const key of Object.keys(config.data.get(where)?.data ?? {})) {
      const m = /^(@[a-z0-9][a-z0-9._~-]*):registry$/i.exec(key);
      const value = m ? text(key) : undefined;
      if (!m || !value || scopeRegistries.has(m[1]!.toLowerCase())) continue;
      scopeRegistries.set(
        m[1]!.toLowerCase(),
        normalizeRegistryUrl(checkExpanded(value, key), `${key} in npm configuration`),
      );
    }
  }

  const authorizationFor = (url: string): string | undefined => {
    // npm-registry-fetch's rule: the nerf-darted URL, then each shorter path on the same host.
    let key: string;
    try {
      key = nerfDart(url);
    } catch {
      return undefined;
    }
    while (key.length > 2) {
      const token = text(`${key}:_authToken`);
      if (token) return `Bearer ${checkExpanded(token, `${key}:_authToken`)}`;
      const user = text(`${key}:username`);
      const password = text(`${key}:_password`);
      if (user && password) {
        const plain = Buffer.from(checkExpanded(password, `${key}:_password`), 'base64').toString('utf8');
        return `Basic ${Buffer.from(`${checkExpanded(user, `${key}:username`)}:${plain}`).toString('base64')}`;
      }
      const auth = text(`${key}:_auth`);
      if (auth) return `Basic ${checkExpanded(auth, `${key}:_auth`)}`;
      const shorter = key.replace(/[^/]+\/$/, '');
      if (shorter === key) break;
      key = shorter;
    }
    return undefined;
  };

  return {
    registry,
    scopeRegistries,
    authorizationFor,
    network: networkFrom(config, env),
    replaceRegistryHost: text('replace-registry-host') ?? 'npmjs',
    flat: { ...(config.flat as Record<string, unknown>) },
  };
}

/**
 * npm's network settings: `https-proxy` or else `proxy` for every request when set; otherwise the
 * environment (`https_proxy` for https, `https_proxy`/`http_proxy`/`proxy` for http, any case),
 * as @npmcli/agent does; `noproxy` or else NO_PROXY; `ca` or `cafile`; `strict-ssl`.
 */
function networkFrom(config: Config, env: NodeJS.ProcessEnv): NetworkConfig {
  const flat = config.flat;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const configured = str(flat.httpsProxy) ?? str(flat.proxy);
  const fromEnv = networkFromEnv(env);
  const noProxy = str(flat.noProxy) ?? fromEnv.noProxy;
  const ca = flat.ca;
  return {
    ...(configured ? { httpProxy: configured, httpsProxy: configured } : fromEnv),
    ...(noProxy ? { noProxy } : {}),
    ...(Array.isArray(ca) && ca.length > 0
      ? { ca: ca.map(String) }
      : typeof ca === 'string' && ca
        ? { ca: [ca] }
        : {}),
    ...(flat.strictSSL === false ? { strictSsl: false } : {}),
  };
}

const LAYERS = ['cli', 'env', 'project', 'user', 'global', 'builtin'] as const;

/** Where `key`'s value comes from: the first layer that sets it, or npm's defaults. */
function originOf(config: Config, key: string): string {
  for (const where of LAYERS) {
    const layer = config.data.get(where);
    if (layer && Object.hasOwn(layer.data, key)) return where === 'env' ? 'the environment' : layer.source;
  }
  return "npm's defaults";
}

/**
 * `key`'s value; a layer whose value npm dropped as invalid (it would warn and fall back to the
 * next layer, for the registry usually the public one) is an error naming the file instead.
 */
function valueFrom(config: Config, key: string): string {
  for (const where of LAYERS) {
    const layer = config.data.get(where);
    if (!layer || !Object.hasOwn(layer.raw ?? {}, key)) continue;
    if (!Object.hasOwn(layer.data, key)) {
      const source = where === 'env' ? 'the environment' : layer.source;
      throw new LockwardenError(
        'ECONFIG',
        `${key} in ${source} ${JSON.stringify(String(layer.raw[key]))} is not a valid URL`,
      );
    }
    break;
  }
  const value = config.get(key);
  if (typeof value !== 'string' || value === '')
    throw new LockwardenError('ECONFIG', `npm configuration sets no ${key}; pass --registry`);
  return value;
}

/** npm leaves an unset `${VAR}` in place; a URL or credential with one in it is a mistake to report. */
function checkExpanded(value: string, key: string): string {
  const m = /(?<!\\)\$\{([^${}?]+)\}/.exec(value);
  if (m) {
    throw new LockwardenError(
      'ECONFIG',
      `npm configuration: ${key} refers to \${${m[1]}}, which is not set in the environment`,
    );
  }
  return value;
}

/** npm's own directory (for its builtin npmrc): from `npm_execpath`, or the `npm` on PATH. */
function findNpmPath(env: NodeJS.ProcessEnv): string | undefined {
  const execPath = env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath)) return dirname(dirname(execPath));
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      const real = realpathSync(join(dir, process.platform === 'win32' ? 'npm.cmd' : 'npm'));
      if (/npm-cli\.js$/.test(real)) return dirname(dirname(real));
    } catch {
      // not here
    }
  }
  return undefined;
}
