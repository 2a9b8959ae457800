import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs a cold `pnpm install` (pnpm 12) in `dir`, which holds the project's package.json: a fresh
 * store and cache inside `dir`, its age gate off, `registry` for every package, no npm or pnpm
 * settings of the calling environment. Resolves with the wall time in ms.
 */
export async function coldPnpmInstall(dir, registry, { env: extraEnv = {}, timeoutMs = 300_000 } = {}) {
  await writeFile(join(dir, '.npmrc'), `registry=${registry}\n`);
  await writeFile(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\n');
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_)/i.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: dir,
    PNPM_CONFIG_REGISTRY: registry,
    PNPM_CONFIG_STORE_DIR: join(dir, '.pnpm-store'),
    PNPM_CONFIG_CACHE_DIR: join(dir, '.pnpm-cache'),
    PNPM_HOME: join(dir, '.pnpm-home'),
    ...extraEnv,
  });
  const started = performance.now();
  await new Promise((resolveInstall, reject) => {
    execFile(
      process.execPath,
      [join(root, 'node_modules/pnpm12/bin/pnpm.mjs'), 'install', '--ignore-scripts', '--no-frozen-lockfile'],
      { cwd: dir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`pnpm install failed: ${stdout}${stderr}`));
        resolveInstall();
      },
    );
  });
  return performance.now() - started;
}

/** A cold pnpm 12 install (fresh store and cache, its own age gate off): the client whose bursts of
 * parallel tarball requests met 504s through the proxy before connect failures were retried. */
export async function pnpmInstall(dependencies, registry) {
  // Every project here names its 70 packages `<prefix>00` to `<prefix>69`.
  const expect = { prefix: Object.keys(dependencies)[0].slice(0, -2), count: 70 };
  const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-pnpm-'));
  try {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, dependencies }),
    );
    // Only the fake upstream, on loopback: no proxy, no retry.
    const ms = await coldPnpmInstall(dir, registry, {
      env: {
        npm_config_fetch_retries: '0',
        HTTP_PROXY: 'http://127.0.0.1:9',
        HTTPS_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '127.0.0.1,localhost',
      },
    });
    const installed = await readdir(join(dir, 'node_modules', '.pnpm'));
    const count = installed.filter((n) => n.startsWith(expect.prefix)).length;
    if (count !== expect.count)
      throw new Error(`pnpm: expected ${expect.count} ${expect.prefix}* packages, got ${count}`);
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
