// `lockwarden serve --timeout` and `--cache-ttl` as a user starts them (the built CLI in its own
// process) in front of a loopback upstream that trickles: one byte per second keeps every idle
// timeout quiet, so only the total deadline can end such a request.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_CLI, builtCliEnv } from '../helpers/built-cli-env.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';

const TIMEOUT_MS = 2_500;

const leftPad = (versions: string[]) =>
  makePackument({
    name: 'left-pad',
    versions: versions.map((version, i) => ({ version, publishedAt: new Date(daysAgo(300 - i)) })),
  });

let registry: FakeRegistry;
let dir: string;
let serve: ChildProcess;
let base: string;
let stderr = '';

beforeAll(async () => {
  registry = await startFakeRegistry({ packuments: [leftPad(['1.0.0'])] });
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-serve-timeout-'));
  serve = spawn(
    process.execPath,
    [
      BUILT_CLI,
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'state'),
      '--upstream',
      registry.url,
      '--timeout',
      String(TIMEOUT_MS),
      '--cache-ttl',
      '0',
    ],
    {
      cwd: dir,
      env: builtCliEnv(dir, { LOCKWARDEN_LOG_LEVEL: 'silent' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  serve.stderr!.on('data', (d) => {
    stderr += d;
  });
  base = await new Promise<string>((ok, fail) => {
    let out = '';
    serve.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) ok(m[1]!);
    });
    serve.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${stderr}`)));
  });
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((ok) => serve.once('exit', ok));
    serve.kill('SIGTERM');
    await exited;
  }
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lockwarden serve --timeout', () => {
  it('answers 504 for a packument trickling at 1 byte/s, at the deadline', async () => {
    registry.fault({ kind: 'trickle', intervalMs: 1_000, match: (r) => r.path === '/trickle-doc', times: 1 });
    const started = performance.now();
    const res = await fetch(`${base}/default/trickle-doc`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: string }).error).toMatch(
      new RegExp(`trickle-doc: .*${TIMEOUT_MS} ms deadline`),
    );
    // Not before the deadline (the idle timeouts stayed quiet), and no attempt after it. The body
    // never ends, so nothing but the deadline could end the request; how late after it a loaded
    // machine answers is not this test's business (a wall-clock upper bound can fail there).
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(registry.requests.filter((r) => r.path === '/trickle-doc')).toHaveLength(1);
  });

  it('cuts a tarball trickling at 1 byte/s at the deadline, although bytes keep arriving', async () => {
    expect((await fetch(`${base}/default/left-pad`)).status).toBe(200);
    registry.fault({ kind: 'trickle', intervalMs: 1_000, match: (r) => r.path.endsWith('.tgz'), times: 1 });
    const started = performance.now();
    const res = await fetch(`${base}/default/left-pad/-/left-pad-1.0.0.tgz`);
    // Headers came at once: the client is streamed what the upstream sends, until the deadline.
    expect(res.status).toBe(200);
    let received = 0;
    const outcome = await (async () => {
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) received += chunk.length;
        return 'ended';
      } catch {
        return 'cut';
      }
    })();
    const elapsed = performance.now() - started;
    // A response ended early must not look complete: the client sees the transfer fail.
    expect(outcome).toBe('cut');
    expect(received).toBeGreaterThanOrEqual(1);
    // At 1 byte/s, no more bytes than seconds of deadline reached the client: counted, where a
    // wall-clock upper bound can fail on a loaded machine (a late deadline timer runs before the
    // service reads what arrived meanwhile).
    expect(received).toBeLessThanOrEqual(Math.ceil(TIMEOUT_MS / 1000) + 1);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });
});

describe('lockwarden serve --cache-ttl', () => {
  it('bounds how old the on-disk copy may be: with 0, an upstream change is fetched on the next request', async () => {
    const versions = async () =>
      Object.keys(
        ((await (await fetch(`${base}/default/left-pad`)).json()) as { versions: object }).versions,
      );
    expect(await versions()).toEqual(['1.0.0']);
    const asked = () => registry.requests.filter((r) => r.path === '/left-pad').length;
    const before = asked();
    registry.addPackument(leftPad(['1.0.0', '1.1.0']));
    // Past the TTL the service may answer from its last evaluation while it refreshes (stale while
    // revalidate); the refresh must reach the upstream, not stop at the copy on disk, which was
    // written a moment ago and would count as fresh on the default 5-minute clock.
    // Asked until the refreshed document shows (generously: the wait only has to outlast a loaded
    // machine, there is no timer in the refresh).
    await expect.poll(versions, { timeout: 60_000, interval: 20 }).toEqual(['1.0.0', '1.1.0']);
    expect(asked()).toBeGreaterThan(before);
  });
});
