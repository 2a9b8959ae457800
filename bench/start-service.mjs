// `npm run bench:proxy`: starts one service (serve-child.mjs) in a child process, on a fresh data
// directory, and wraps the messages the harness sends it.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const serveChildFile = join(dirname(fileURLToPath(import.meta.url)), 'serve-child.mjs');

export async function startService(upstreamUrl, extraEnv = {}) {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'lockwarden-bench-data-'));
  const child = fork(serveChildFile, [], {
    env: {
      ...process.env,
      ...extraEnv,
      BENCH_UPSTREAM: upstreamUrl,
      BENCH_DATA_DIR: dataDir,
      NODE_ENV: 'production',
    },
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the service for a closer look.
    execArgv: [
      '--expose-gc',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      // BENCH_SERVICE_FLAGS="--trace-gc ..." passes Node.js flags to the service alone.
      ...(process.env.BENCH_SERVICE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolvePort, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
    child.on('message', (m) => m.type === 'listening' && resolvePort(m.port));
  });
  child.removeAllListeners('exit');
  /** Sends one message to the service and resolves with its answer of the same type. */
  const ask = (type, extra = {}) =>
    new Promise((resolveAnswer) => {
      const onMessage = (m) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolveAnswer(m);
      };
      child.on('message', onMessage);
      child.send({ type, ...extra });
    });
  return {
    port,
    pid: child.pid,
    /** Event-loop delay since the last call (p99 and max, ms). */
    delay: () => ask('delay'),
    /** Starts or stops (writing `file`) a CPU profile of the service. */
    profile: (type, file) => ask(type, { file }).then(() => {}),
    /** The service's CPU time so far (user and system, µs). */
    cpu: () => ask('cpu').then((m) => m.cpu.user + m.cpu.system),
    /** Time in garbage collection so far (`ms`) and collections (`minor`, `major`). */
    gc: () => ask('gc'),
    /** The service's main-thread CPU time so far (ms). */
    busy: () => ask('busy').then((m) => m.ms),
    rss: () => ask('rss'),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
