// Yarn Berry's registries as Yarn itself reads them from `.yarnrc.yml`: every file from the project
// folder up to the root and the one in the home folder (home lowest, the project's highest),
// `${VAR}`, `${VAR:-fallback}` and `${VAR-fallback}` substituted from the environment, and:
//   npmRegistryServer, npmAuthToken, npmAuthIdent          the default registry and its credentials
//   npmScopes.<scope>.{npmRegistryServer, npmAuthToken, npmAuthIdent}
//   npmRegistries.<url or //host/path>.{npmAuthToken, npmAuthIdent}
// Credentials follow Yarn's order (the scope's own, then the registry's entry, then the top-level
// ones), except that top-level credentials only go to the default registry's host: Yarn would
// send them to any registry a scope names, and a secret goes only to the host it was set for.
import path from 'node:path';
import { FAILSAFE_SCHEMA, load as loadYaml } from 'js-yaml';
import { LockwardenError } from '../errors.js';
import {
  type ConfigText,
  normalizeScope,
  parseRegistryUrl,
  type RegistryRoute,
  type RegistryRoutes,
  readExistingFiles,
  sameOrigin,
} from './registry-routes.js';

/** Registry and credential settings: taken out of the copy Yarn runs with during an update. */
export const YARN_REGISTRY_SETTINGS = [
  'npmRegistryServer',
  'npmPublishRegistry',
  'npmAuditRegistry',
  'npmAuthToken',
  'npmAuthIdent',
  'npmAlwaysAuth',
  'npmRegistries',
] as const;

const ENV_SETTINGS = [
  ['YARN_NPM_REGISTRY_SERVER', 'npmRegistryServer'],
  ['YARN_NPM_AUTH_TOKEN', 'npmAuthToken'],
  ['YARN_NPM_AUTH_IDENT', 'npmAuthIdent'],
] as const;

/** Scopes Yarn routes to a registry of its own without any configuration. */
const BUILTIN_SCOPES: Record<string, string> = { '@jsr': 'https://npm.jsr.io/' };

type Settings = Record<string, unknown>;

/**
 * The `.yarnrc.yml` files Yarn reads for `dir` (named `rcFilename` when YARN_RC_FILENAME says so),
 * lowest priority first (home, then root → dir).
 */
export async function readYarnrcFiles(
  dir: string,
  opts: { homeDir?: string; rcFilename?: string },
): Promise<ConfigText[]> {
  const name = opts.rcFilename || '.yarnrc.yml';
  const chain: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    chain.unshift(path.join(at, name));
    if (path.dirname(at) === at) break;
  }
  const home = opts.homeDir ? path.join(opts.homeDir, name) : undefined;
  const files = home && !chain.includes(home) ? [home, ...chain] : chain;
  return readExistingFiles(files);
}

/** Each file's settings as Yarn parses them (every scalar a string). */
export function parseYarnrc(file: ConfigText): Settings {
  let doc: unknown;
  try {
    doc = loadYaml(file.text, { schema: FAILSAFE_SCHEMA, filename: file.path });
  } catch (err) {
    throw new LockwardenError(
      'ECONFIG',
      `${file.path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === undefined || doc === null) return {};
  if (!isMap(doc)) throw new LockwardenError('ECONFIG', `${file.path}: expected a mapping of settings`);
  return doc;
}

/** The default registry and the scoped ones the files configure (files lowest priority first). */
export function parseYarnrcRegistries(
  files: readonly ConfigText[],
  env: NodeJS.ProcessEnv,
  /** The registry lockwarden uses in place of Yarn's own default when no file names one. */
  opts: { fallbackRegistry: string },
): RegistryRoutes {
  // Later files override earlier ones, per setting and per entry of npmScopes and npmRegistries.
  let server: { value: string; file: string } | undefined;
  const topAuth: { token?: Located; ident?: Located } = {};
  const scopes = new Map<string, { key: string; server?: Located; token?: Located; ident?: Located }>();
  const registries = new Map<string, { token?: Located; ident?: Located }>();
  // Yarn's YARN_* variables beat every file.
  const fromEnv: Settings = {};
  for (const [variable, setting] of ENV_SETTINGS) {
    const value = Object.entries(env).find(([k]) => k.toUpperCase() === variable)?.[1];
    if (value) fromEnv[setting] = value;
  }
  const layers = [...files.map((f) => ({ file: f, settings: parseYarnrc(f) }))];
  if (Object.keys(fromEnv).length > 0)
    layers.push({ file: { path: 'the environment', text: '' }, settings: fromEnv });
  for (const { file, settings } of layers) {
    const at = (field: string) => `${field} in ${file.path}`;
    const str = (value: unknown, field: string): Located | undefined => {
      if (value === undefined || value === null || value === '') return undefined;
      if (typeof value !== 'string') throw new LockwardenError('ECONFIG', `${at(field)}: expected a string`);
      return { value: substitute(value, env, at(field)), where: at(field) };
    };
    const server0 = str(settings.npmRegistryServer, 'npmRegistryServer');
    if (server0) server = { value: server0.value, file: server0.where };
    topAuth.token = str(settings.npmAuthToken, 'npmAuthToken') ?? topAuth.token;
    topAuth.ident = str(settings.npmAuthIdent, 'npmAuthIdent') ?? topAuth.ident;
    for (const [key, entry] of entries(settings.npmScopes, at('npmScopes'))) {
      const field = `npmScopes.${key}`;
      const scope = normalizeScope(key, at('npmScopes'));
      const prev = scopes.get(scope) ?? { key };
      scopes.set(scope, {
        key,
        server: str(entry.npmRegistryServer, `${field}.npmRegistryServer`) ?? prev.server,
        token: str(entry.npmAuthToken, `${field}.npmAuthToken`) ?? prev.token,
        ident: str(entry.npmAuthIdent, `${field}.npmAuthIdent`) ?? prev.ident,
      });
    }
    for (const [key, entry] of entries(settings.npmRegistries, at('npmRegistries'))) {
      const field = `npmRegistries["${key}"]`;
      const id = registryKey(key);
      const prev = registries.get(id) ?? {};
      registries.set(id, {
        ...prev,
        ...definedOnly({
          token: str(entry.npmAuthToken, `${field}.npmAuthToken`),
          ident: str(entry.npmAuthIdent, `${field}.npmAuthIdent`),
        }),
      });
    }
  }

  const defaultRoute = server ? parseRegistryUrl(server.value, server.file) : undefined;
  // Yarn's lookup for a registry: the npmRegistries entry for it (exact, then without protocol).
  const registryEntry = (url: string) =>
    registries.get(registryKey(url)) ?? registries.get(registryKey(url).replace(/^[a-z]+:/, ''));
  const authFor = (url: string, own?: { token?: Located; ident?: Located }): string | undefined => {
    const chosen =
      own && (own.token || own.ident)
        ? own
        : (registryEntry(url) ??
          (defaultRoute !== undefined && sameOrigin(url, defaultRoute.url) ? topAuth : undefined));
    if (!chosen) return undefined;
    if (chosen.ident) {
      const ident = chosen.ident.value;
      return ident.includes(':') ? `Basic ${Buffer.from(ident).toString('base64')}` : `Basic ${ident}`;
    }
    return chosen.token ? `Bearer ${chosen.token.value}` : undefined;
  };
  const route = (
    url: string,
    origin: string,
    inUrl: string | undefined,
    own?: { token?: Located; ident?: Located },
  ) => {
    const authorization = authFor(url, own) ?? inUrl;
    return { url, origin, ...(authorization ? { authorization } : {}) } satisfies RegistryRoute;
  };

  const out: RegistryRoutes = { scopes: new Map() };
  if (defaultRoute && server) out.default = route(defaultRoute.url, server.file, defaultRoute.authorization);
  for (const [scope, url] of Object.entries(BUILTIN_SCOPES)) {
    if (!scopes.has(scope)) out.scopes.set(scope, { url, origin: `Yarn's built-in ${scope} scope` });
  }
  for (const [scope, s] of scopes) {
    // A scope without its own server uses the default registry, with the scope's credentials.
    const parsed = s.server
      ? parseRegistryUrl(s.server.value, s.server.where)
      : (defaultRoute ?? { url: opts.fallbackRegistry });
    const origin = s.server?.where ?? `npmScopes.${s.key}`;
    out.scopes.set(scope, route(parsed.url, origin, parsed.authorization, s));
  }
  return out;
}

interface Located {
  value: string;
  where: string;
}

function isMap(value: unknown): value is Settings {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown, where: string): [string, Settings][] {
  if (value === undefined || value === null || value === '') return [];
  if (!isMap(value)) throw new LockwardenError('ECONFIG', `${where}: expected a mapping`);
  return Object.entries(value).map(([key, entry]) => {
    if (entry === null || entry === '') return [key, {}];
    if (!isMap(entry)) throw new LockwardenError('ECONFIG', `${where}: ${key} is not a mapping`);
    return [key, entry];
  });
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Yarn's normalization of a registry key: no trailing slash. */
function registryKey(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Yarn's substitution: `${NAME}` (an error when unset), `${NAME:-fallback}` (unset or empty),
 * `${NAME-fallback}` (unset). The error names the variable and the field, never a value.
 */
export function substitute(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(
    /\$\{([A-Za-z0-9_]+)(?:(:-|-)([^}]*))?\}/g,
    (_m, name: string, op?: string, fallback?: string) => {
      const v = env[name];
      if (op === ':-') return v !== undefined && v !== '' ? v : (fallback ?? '');
      if (op === '-') return v !== undefined ? v : (fallback ?? '');
      if (v === undefined)
        throw new LockwardenError(
          'ECONFIG',
          `${where} refers to \${${name}}, which is not set in the environment`,
        );
      return v;
    },
  );
}
