// Where pnpm, yarn or bun would fetch each package from, read from the configuration that tool
// itself reads, and the configuration the tool runs with during `lockwarden update` instead: every
// registry replaced by the loopback policy registry's URL standing for it, and no credentials
// (lockwarden fetches upstream with them; the tool never sees them).
//   pnpm, Yarn 1  `.npmrc` (npm's loader: project, user, global): registry, @scope:registry
//   Yarn Berry    `.yarnrc.yml` (project folder up to the root, and home): npmRegistryServer, npmScopes, npmRegistries
//   bun           `.npmrc` as above, then `bunfig.toml` (global, project): install.registry, install.scopes
// What a tool would read that lockwarden does not (pnpm's own global rc, Yarn 1's `.yarnrc`) stops
// the update with the file and field, rather than letting packages bypass the policy.
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dump as dumpYaml } from 'js-yaml';
import { stringify as stringifyToml } from 'smol-toml';
import { LockwardenError } from '../errors.js';
import { parseBunfig, parseBunfigRegistries, readBunfigFiles } from '../sources/bunfig-registries.js';
import { loadNpmConfig } from '../sources/npm-config.js';
import { type ConfigText, parseRegistryUrl, type RegistryRoute } from '../sources/registry-routes.js';
import {
  parseYarnrc,
  parseYarnrcRegistries,
  readYarnrcFiles,
  YARN_REGISTRY_SETTINGS,
} from '../sources/yarnrc-registries.js';
import type { PackageManager } from './package-manager-commands.js';

export interface RegistryPlan {
  default: RegistryRoute;
  /** `@scope` → its registry; packages of other scopes come from the default. */
  scopes: Map<string, RegistryRoute>;
  /** The tool's own configuration files read (Yarn Berry, bun), for the staged copy. */
  files: ConfigText[];
}

export async function readRegistryPlan(
  dir: string,
  pm: PackageManager,
  opts: {
    /** The registry lockwarden is configured with (`--registry`, else npm's). */
    registryUrl: string;
    /** Whether `--registry` named it: it then beats the tool's own default registry too. */
    registryFromFlag: boolean;
    env: NodeJS.ProcessEnv;
  },
): Promise<RegistryPlan> {
  const { env } = opts;
  const home = env.HOME || undefined;
  const npm = await loadNpmConfig({ cwd: dir, env });
  const npmDefault: RegistryRoute = {
    url: opts.registryUrl,
    origin: opts.registryFromFlag ? '--registry' : 'registry in npm configuration',
    ...authorization(npm.authorizationFor(opts.registryUrl)),
  };
  const npmScopes = new Map<string, RegistryRoute>();
  for (const [scope, url] of npm.scopeRegistries) {
    npmScopes.set(scope, {
      url,
      origin: `${scope}:registry in npm configuration`,
      ...authorization(npm.authorizationFor(url)),
    });
  }
  switch (pm) {
    case 'pnpm':
      await refuseUnreadSettings(
        pnpmGlobalRc(env),
        /^(registry|@[^:]+:registry|\/\/.*:(_authToken|_auth|_password|username))$/,
        'pnpm',
      );
      return { default: npmDefault, scopes: npmScopes, files: [] };
    case 'yarn-classic':
      for (const file of yarnClassicRcFiles(dir, home))
        await refuseUnreadSettings(file, /^"?@[^:]+:registry"?$/, 'Yarn 1');
      return { default: npmDefault, scopes: npmScopes, files: [] };
    case 'yarn-berry': {
      // Yarn Berry does not read .npmrc at all.
      const files = await readYarnrcFiles(dir, {
        ...(home ? { homeDir: home } : {}),
        ...(env.YARN_RC_FILENAME ? { rcFilename: env.YARN_RC_FILENAME } : {}),
      });
      const routes = parseYarnrcRegistries(files, env, { fallbackRegistry: opts.registryUrl });
      return {
        default: opts.registryFromFlag || !routes.default ? npmDefault : routes.default,
        scopes: routes.scopes,
        files,
      };
    }
    case 'bun': {
      const files = await readBunfigFiles(dir, {
        ...(home ? { homeDir: home } : {}),
        ...(env.XDG_CONFIG_HOME ? { xdgConfigHome: env.XDG_CONFIG_HOME } : {}),
      });
      const routes = parseBunfigRegistries(files, env);
      // bun's own variables beat bunfig.toml.
      const fromEnv = env.BUN_CONFIG_REGISTRY
        ? parseRegistryUrl(env.BUN_CONFIG_REGISTRY, 'BUN_CONFIG_REGISTRY in the environment')
        : undefined;
      const envDefault: RegistryRoute | undefined = fromEnv && {
        url: fromEnv.url,
        origin: 'BUN_CONFIG_REGISTRY in the environment',
        ...authorization(env.BUN_CONFIG_TOKEN ? `Bearer ${env.BUN_CONFIG_TOKEN}` : fromEnv.authorization),
      };
      return {
        default:
          opts.registryFromFlag || !(envDefault ?? routes.default)
            ? npmDefault
            : (envDefault ?? routes.default)!,
        scopes: new Map([...npmScopes, ...routes.scopes]),
        files,
      };
    }
  }
}

function authorization(value: string | undefined): { authorization?: string } {
  return value ? { authorization: value } : {};
}

function pnpmGlobalRc(env: NodeJS.ProcessEnv): string | undefined {
  const config = env.XDG_CONFIG_HOME || (env.HOME ? path.join(env.HOME, '.config') : undefined);
  return config ? path.join(config, 'pnpm', 'rc') : undefined;
}

function yarnClassicRcFiles(dir: string, home: string | undefined): string[] {
  const files: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    files.push(path.join(at, '.yarnrc'));
    if (path.dirname(at) === at) break;
  }
  if (home && !files.includes(path.join(home, '.yarnrc'))) files.push(path.join(home, '.yarnrc'));
  return files;
}

/** A registry setting in a file lockwarden does not read for this tool: exit 2 naming both. */
async function refuseUnreadSettings(file: string | undefined, keys: RegExp, tool: string): Promise<void> {
  if (!file) return;
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split(/\r?\n/)) {
    const key = settingKey(line);
    if (key === undefined || !keys.test(key)) continue;
    throw new LockwardenError(
      'ECONFIG',
      `${file} sets ${key.replace(/"/g, '')}, which ${tool} reads but \`lockwarden update\` does not (it reads registries and credentials from .npmrc), so those packages would bypass the policy; move the setting to the project's or your user .npmrc; nothing was written`,
    );
  }
}

/** The key of an `.npmrc`/`.yarnrc` line (`key=value` or `key value`), undefined for comments. */
function settingKey(line: string): string | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#') || t.startsWith(';') || t.startsWith('[')) return undefined;
  const m = /^("[^"]*"|[^\s=]+)/.exec(t);
  return m?.[1];
}

/** npm settings that name a registry or carry a credential: never in the copy a tool runs on. */
const NPMRC_REGISTRY_KEY =
  /^(registry|@[^:]+:registry|\/\/.*|_auth|_authToken|_password|username|email|always-auth)$/i;

export interface StagedRegistries {
  /** Variables for the tool's run. */
  env: Record<string, string>;
  /** Temporary directories to remove afterwards. */
  temps: string[];
}

/**
 * Rewrites the staged copy's configuration so that `pm` asks the proxy, and only the proxy, for
 * every registry in `plan`, with no credential in any file it reads.
 */
export async function configureStagedRegistries(
  staged: string,
  pm: PackageManager,
  plan: RegistryPlan,
  proxy: { url: string; scopeUrls: ReadonlyMap<string, string> },
): Promise<StagedRegistries> {
  const scopes = [...plan.scopes.keys()].sort();
  const scopeUrl = (scope: string) => proxy.scopeUrls.get(scope) ?? proxy.url;
  // Every tool but Yarn Berry reads .npmrc: its registry lines point at the proxy, and for pnpm
  // and Yarn 1 the project's file overrides the user's for every scope.
  if (pm !== 'yarn-berry') {
    const file = path.join(staged, '.npmrc');
    const text = await readFile(file, 'utf8').catch(() => '');
    const kept = text.split(/\r?\n/).filter((line) => {
      const key = settingKey(line);
      return key === undefined || !NPMRC_REGISTRY_KEY.test(key.replace(/^"|"$/g, ''));
    });
    while (kept.length > 0 && kept.at(-1)!.trim() === '') kept.pop();
    const lines = [`registry=${proxy.url}`, ...scopes.map((s) => `${s}:registry=${scopeUrl(s)}`)];
    await writePrivate(
      file,
      `${[...kept, '# lockwarden update: the loopback policy registry', ...lines].join('\n')}\n`,
    );
  }
  if (pm === 'yarn-berry') {
    // Yarn reads every .yarnrc.yml from the folder up and the home one, merging them: it runs with
    // one file of its own name (YARN_RC_FILENAME) holding all of them, registries replaced.
    const merged: Record<string, unknown> = {};
    const scopeSettings: Record<string, Record<string, unknown>> = {};
    for (const file of plan.files) {
      const settings = parseYarnrc(file);
      for (const [key, value] of Object.entries(settings)) {
        if ((YARN_REGISTRY_SETTINGS as readonly string[]).includes(key)) continue;
        if (key !== 'npmScopes') {
          merged[key] = value;
          continue;
        }
        for (const [scope, entry] of Object.entries((value ?? {}) as Record<string, unknown>)) {
          const own = { ...(scopeSettings[scope] ?? {}) };
          for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
            if (!(YARN_REGISTRY_SETTINGS as readonly string[]).includes(k)) own[k] = v;
          }
          scopeSettings[scope] = own;
        }
      }
    }
    for (const scope of scopes) {
      const key = scope.slice(1);
      scopeSettings[key] = {
        ...(scopeSettings[key] ?? {}),
        npmRegistryServer: scopeUrl(scope).replace(/\/$/, ''),
      };
    }
    merged.npmRegistryServer = proxy.url.replace(/\/$/, '');
    if (Object.keys(scopeSettings).length > 0) merged.npmScopes = scopeSettings;
    const rcName = '.lockwarden-update.yarnrc.yml';
    const text = `# lockwarden update: the loopback policy registry\n${dumpYaml(merged, { lineWidth: -1 })}`;
    await writePrivate(path.join(staged, rcName), text);
    // The project's own file too, in case a Yarn 1 on PATH reads it for yarnPath; no credentials.
    await writePrivate(path.join(staged, '.yarnrc.yml'), text);
    return { env: { YARN_RC_FILENAME: rcName }, temps: [] };
  }
  if (pm === 'bun') {
    const file = path.join(staged, 'bunfig.toml');
    const own = plan.files.find((f) => path.basename(f.path) === 'bunfig.toml');
    const doc = own ? parseBunfig(own) : {};
    const install = { ...((doc.install as Record<string, unknown> | undefined) ?? {}) };
    install.registry = proxy.url;
    install.scopes = Object.fromEntries(scopes.map((s) => [s, scopeUrl(s)]));
    await writePrivate(
      file,
      `# lockwarden update: the loopback policy registry\n${stringifyToml({ ...doc, install })}\n`,
    );
    // bun also reads the global bunfig.toml and ~/.npmrc: it runs with an empty home instead.
    const home = await mkdtemp(path.join(tmpdir(), 'lockwarden-update-home-'));
    return { env: { HOME: home, XDG_CONFIG_HOME: home }, temps: [home] };
  }
  return { env: {}, temps: [] };
}

/** These files name the loopback registry's secret path: readable by the user only. */
async function writePrivate(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}
