// Real package manager clients in a sandbox: a fresh project directory, a HOME with empty user
// config and its own caches, the registry from the environment, and every non-loopback request
// sent to a closed port, so nothing a test runs can reach a real registry.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientSandbox {
  /** A project directory with a package.json (`pkg` laid over a minimal one). */
  project(pkg?: Record<string, unknown>): Promise<string>;
  /** The environment for npm, pnpm, yarn and bun pointed at `registry`. */
  clientEnv(registry: string): Promise<NodeJS.ProcessEnv>;
  run(
    cmd: string,
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Removes every directory it made. */
  cleanup(): Promise<void>;
}

export function clientSandbox(): ClientSandbox {
  const temps: string[] = [];
  async function project(pkg: Record<string, unknown> = {}): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'lockwarden-e2e-'));
    temps.push(dir);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, ...pkg }, null, 2),
    );
    return dir;
  }

  async function clientEnv(registry: string): Promise<NodeJS.ProcessEnv> {
    const home = await mkdtemp(join(tmpdir(), 'lockwarden-e2e-home-'));
    temps.push(home);
    const userconfig = join(home, '.npmrc');
    await writeFile(userconfig, '');
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(npm_|NPM_|pnpm_|PNPM_|yarn_|YARN_|BUN_)/.test(k)) env[k] = v;
    }
    return {
      ...env,
      HOME: home,
      npm_config_cache: join(home, 'npm-cache'),
      npm_config_userconfig: userconfig,
      npm_config_globalconfig: join(home, 'global-npmrc'),
      npm_config_registry: registry,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_store_dir: join(home, 'pnpm-store'),
      npm_config_fetch_retries: '0',
      // pnpm reads its own variables and project .npmrc, not npm_config_* from the environment.
      PNPM_CONFIG_REGISTRY: registry,
      PNPM_CONFIG_STORE_DIR: join(home, 'pnpm-store'),
      PNPM_CONFIG_CACHE_DIR: join(home, 'pnpm-cache'),
      PNPM_HOME: join(home, 'pnpm-home'),
      YARN_CACHE_FOLDER: join(home, 'yarn-cache'),
      YARN_IGNORE_PATH: '1',
      YARN_ENABLE_TELEMETRY: '0',
      BUN_CONFIG_REGISTRY: registry,
      BUN_INSTALL_CACHE_DIR: join(home, 'bun-cache'),
      BUN_INSTALL: join(home, 'bun-home'),
      DO_NOT_TRACK: '1',
      // Anything that is not loopback goes to a closed port: a misconfigured client fails instead of
      // reaching a real registry.
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      http_proxy: 'http://127.0.0.1:9',
      https_proxy: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      NODE_ENV: 'production',
    };
  }

  function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun) => {
      // Under the 300 s of the tests that install: the machine they run on may be loaded.
      execFile(cmd, args, { cwd, env, timeout: 240_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      });
    });
  }

  return {
    project,
    clientEnv,
    run,
    async cleanup() {
      for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** yarn 4's project settings for `registry`: plain http on loopback, its caches in the project. */
export function writeYarnBerryRc(dir: string, registry: string): Promise<void> {
  return writeFile(
    join(dir, '.yarnrc.yml'),
    [
      `npmRegistryServer: "${registry}"`,
      'unsafeHttpWhitelist: ["127.0.0.1"]',
      'enableTelemetry: false',
      'enableGlobalCache: false',
      'nodeLinker: node-modules',
      '',
    ].join('\n'),
  );
}
