// The real npm client for e2e tests: its own home, cache and empty user and global config, the
// registry given, and anything not on loopback sent to a closed port, so no test reaches a real
// registry whatever the machine's npm configuration says.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export function runNpm(
  args: string[],
  opts: { cwd: string; registryUrl: string; home: string; config?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|NPM_)/.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: opts.home,
    npm_config_cache: join(opts.home, 'npm-cache'),
    npm_config_userconfig: join(opts.home, '.npmrc'),
    npm_config_globalconfig: join(opts.home, 'global-npmrc'),
    npm_config_registry: opts.registryUrl,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_fetch_retries: '0',
    ...Object.fromEntries(Object.entries(opts.config ?? {}).map(([k, v]) => [`npm_config_${k}`, v])),
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  });
  return new Promise((resolve) => {
    execFile('npm', args, { cwd: opts.cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
