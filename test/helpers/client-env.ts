// What an e2e test needs to run a real package manager against a loopback registry: a fresh
// home, cache and empty user config per run, the registry from the environment, and every
// non-loopback host sent to a closed port, so nothing can reach a real registry.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function clientEnv(registry: string, temps: string[]): Promise<NodeJS.ProcessEnv> {
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
    npm_config_fetch_retries: '0',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    NODE_ENV: 'production',
  };
}

export function runClient(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

export async function installedVersion(dir: string, name: string): Promise<string> {
  return JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}
