// Locks one project with each real package manager (npm, pnpm, yarn classic, yarn Berry, bun)
// against a loopback registry. Every run gets a fresh home, cache and config, and any host that
// is not loopback goes to a closed port, so nothing here can reach a real registry.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bunBinary } from './bun-binary.js';

export type LockClient = 'npm' | 'pnpm' | 'yarn-classic' | 'yarn-berry' | 'bun';
export const LOCK_CLIENTS: readonly LockClient[] = ['npm', 'pnpm', 'yarn-classic', 'yarn-berry', 'bun'];

export const LOCKFILE_OF: Record<LockClient, string> = {
  npm: 'package-lock.json',
  pnpm: 'pnpm-lock.yaml',
  'yarn-classic': 'yarn.lock',
  'yarn-berry': 'yarn.lock',
  bun: 'bun.lock',
};

const BIN = {
  pnpm: path.resolve('node_modules/pnpm/bin/pnpm.cjs'),
  yarn: path.resolve('node_modules/yarn/bin/yarn.js'),
  berry: path.resolve('node_modules/yarn4/bin/yarn.js'),
  // The platform package's binary: installs with --ignore-scripts (CI) leave bun's bin a placeholder.
  bun: bunBinary(),
};

export interface LockProject {
  /** Files relative to the project root (`package.json`, `packages/a/package.json`, ...). */
  files: Record<string, string>;
  /** Workspace globs, written in each manager's own place (package.json, pnpm-workspace.yaml). */
  workspaces?: string[];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function clientEnv(home: string, registry: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(home, { recursive: true });
  const userconfig = path.join(home, '.npmrc');
  await writeFile(userconfig, '');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|NPM_|pnpm_|PNPM_|yarn_|YARN_|BUN_|COREPACK_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    npm_config_cache: path.join(home, 'npm-cache'),
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: path.join(home, 'global-npmrc'),
    npm_config_registry: registry,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_fetch_retries: '0',
    PNPM_CONFIG_REGISTRY: registry,
    PNPM_CONFIG_STORE_DIR: path.join(home, 'pnpm-store'),
    PNPM_CONFIG_CACHE_DIR: path.join(home, 'pnpm-cache'),
    PNPM_HOME: path.join(home, 'pnpm-home'),
    YARN_CACHE_FOLDER: path.join(home, 'yarn-cache'),
    YARN_IGNORE_PATH: '1',
    YARN_ENABLE_TELEMETRY: '0',
    YARN_GLOBAL_FOLDER: path.join(home, 'berry'),
    BUN_CONFIG_REGISTRY: registry,
    BUN_INSTALL_CACHE_DIR: path.join(home, 'bun-cache'),
    BUN_INSTALL: path.join(home, 'bun-home'),
    DO_NOT_TRACK: '1',
    COREPACK_ENABLE_STRICT: '0',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}

async function writeProject(dir: string, project: LockProject, client: LockClient): Promise<void> {
  for (const [file, text] of Object.entries(project.files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    let body = text;
    if (file === 'package.json' && project.workspaces && client !== 'pnpm') {
      body = JSON.stringify({ ...JSON.parse(text), workspaces: project.workspaces }, null, 2);
    }
    await writeFile(path.join(dir, file), body);
  }
  if (client === 'pnpm' && project.workspaces) {
    await writeFile(
      path.join(dir, 'pnpm-workspace.yaml'),
      `packages:\n${project.workspaces.map((w) => `  - '${w}'\n`).join('')}`,
    );
  }
}

/**
 * Locks `project` with `client` in a new directory under `parent` and returns that directory.
 * Throws with the client's output when it fails.
 */
export async function lockWithClient(
  client: LockClient,
  project: LockProject,
  registry: string,
  parent: string,
): Promise<string> {
  const dir = await mkdtemp(path.join(parent, `${client}-`));
  await writeProject(dir, project, client);
  const env = await clientEnv(path.join(parent, `home-${path.basename(dir)}`), registry);
  const host = new URL(registry).hostname;
  let res: { code: number; stdout: string; stderr: string };
  switch (client) {
    case 'npm':
      res = await run('npm', ['install', '--package-lock-only', '--ignore-scripts'], dir, env);
      break;
    case 'pnpm':
      res = await run(
        process.execPath,
        [BIN.pnpm, 'install', '--lockfile-only', '--ignore-scripts', `--registry=${registry}`],
        dir,
        env,
      );
      break;
    case 'yarn-classic':
      res = await run(
        process.execPath,
        [
          BIN.yarn,
          'install',
          '--ignore-scripts',
          '--non-interactive',
          '--no-progress',
          '--registry',
          registry,
        ],
        dir,
        env,
      );
      break;
    case 'yarn-berry':
      await writeFile(
        path.join(dir, '.yarnrc.yml'),
        [
          `npmRegistryServer: "${registry.replace(/\/$/, '')}"`,
          `unsafeHttpWhitelist: ["${host}"]`,
          'enableGlobalCache: false',
          'enableTelemetry: false',
          'nodeLinker: node-modules',
          '',
        ].join('\n'),
      );
      res = await run(process.execPath, [BIN.berry, 'install', '--mode=update-lockfile'], dir, env);
      break;
    case 'bun':
      res = await run(BIN.bun, ['install', '--lockfile-only', '--ignore-scripts'], dir, env);
      break;
  }
  if (res.code !== 0) {
    throw new Error(`${client} failed (${res.code}) in ${dir}:\n${res.stdout}\n${res.stderr}`);
  }
  return dir;
}

/** Copies a locked project's manifests and lockfile (not node_modules) to `to`. */
export async function copyLockedProject(from: string, to: string, files: string[]): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(to, file)), { recursive: true });
    await cp(path.join(from, file), path.join(to, file));
  }
}

export async function tempParent(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lockwarden-lock-clients-'));
}
