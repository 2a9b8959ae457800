import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

/** A cold `npm install` of `dependencies` from `registry`, timed (ms), its installed tree checked. */
export async function npmInstall(dependencies, registry, expect = { prefix: 'proj-pkg-', count: 70 }) {
  const dir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-install-'));
  try {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true, dependencies }),
    );
    await writeFile(join(dir, '.npmrc-user'), '');
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
    Object.assign(env, {
      npm_config_cache: join(dir, '.npm-cache'),
      npm_config_userconfig: join(dir, '.npmrc-user'),
      npm_config_globalconfig: join(dir, '.npmrc-global'),
      npm_config_registry: registry,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_fetch_retries: '0',
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
    });
    // BENCH_NPM_LOG=<file> appends npm's timing and http log of each install, for a closer look.
    if (process.env.BENCH_NPM_LOG)
      Object.assign(env, { npm_config_loglevel: 'silly', npm_config_timing: 'true' });
    const started = performance.now();
    await new Promise((resolveInstall, reject) => {
      execFile(
        'npm',
        ['install', '--no-package-lock', '--ignore-scripts'],
        { cwd: dir, env, timeout: 300_000 },
        (err, _o, stderr) => {
          if (err) return reject(new Error(`npm install failed: ${stderr}`));
          if (process.env.BENCH_NPM_LOG)
            appendFileSync(
              process.env.BENCH_NPM_LOG,
              `=== ${registry} ${performance.now() - started} ms\n${stderr}`,
            );
          resolveInstall();
        },
      );
    });
    const ms = performance.now() - started;
    const installed = await readdir(join(dir, 'node_modules'));
    const count = installed.filter((n) => n.startsWith(expect.prefix)).length;
    if (count !== expect.count)
      throw new Error(`expected ${expect.count} ${expect.prefix}* packages, got ${count}`);
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Lets the disk catch up before a timed install: the previous install's thousands of written and
 * deleted files are otherwise flushed (and discarded) during the next one, and both arms drift.
 */
export async function settle() {
  await new Promise((resolveSync) => execFile('sync', () => resolveSync()));
  await new Promise((resolveWait) => setTimeout(resolveWait, 500));
}
