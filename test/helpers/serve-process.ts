// `lockwarden serve` in a child process of its own, for what only a separate process can show: a
// kill -9, or two replicas sharing one database. The current sources are bundled once per test
// run (esbuild, dependencies left to node_modules), so no stale build is ever tested.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { buildWebhookSenderWorker, TEST_BUNDLE_OPTIONS } from './build-webhook-sender-worker.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
let bundled: Promise<string> | undefined;

function bundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'lockwarden-test');
    await mkdir(dir, { recursive: true });
    const outfile = path.join(dir, `serve-${process.pid}.mjs`);
    await build({
      stdin: {
        contents: `import { runServe } from './server/serve-command.ts';
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
const code = await runServe(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: stop.signal });
process.exit(code);`,
        resolveDir: REPO_ROOT,
        loader: 'ts',
        sourcefile: 'serve-child.ts',
      },
      ...TEST_BUNDLE_OPTIONS,
      outfile,
    });
    // The webhook sender thread's module, beside the bundle as the CLI bundle has it (the service
    // posts inline without it). Shared by the test processes: written whole, then renamed.
    const worker = path.join(dir, `webhook-sender-worker.${process.pid}.tmp.js`);
    await buildWebhookSenderWorker(worker);
    await rename(worker, path.join(dir, 'webhook-sender-worker.js'));
    return outfile;
  })();
  return bundled;
}

export interface ServeProcess {
  /** Base URL without a trailing slash. */
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGKILL: no flush, no close. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful stop. */
  stop(): Promise<void>;
}

export async function startServeProcess(options: {
  args: string[];
  env: Record<string, string>;
  cwd: string;
}): Promise<ServeProcess> {
  const file = await bundle();
  const child = spawn(process.execPath, [file, '--host', '127.0.0.1', '--port', '0', ...options.args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: options.cwd, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`lockwarden serve exited with ${code}:\n${output}`)));
  });
  return {
    url,
    child,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
