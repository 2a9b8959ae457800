// The real npm client installing through `lockwarden serve` (its own process) while a relay in
// between resets connections at random points: right after a request is sent (while the proxy
// still waits for the upstream), or part way through a response. npm retries what failed; the
// service must stay up with no unhandled error, keep answering another client that goes direct,
// and the install must finish with every package.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { runNpm } from '../helpers/run-npm.js';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.js';

const DAY_MS = 86_400_000;
// The service process reads the real clock: publish times far from any threshold.
const ago = (days: number) => new Date(Date.now() - days * DAY_MS);
// A chain and a fan: npm resolves them level by level, so requests overlap and follow each other.
const NAMES = Array.from({ length: 16 }, (_, i) => `reset-pkg-${i}`);
const SEED = Number(process.env.LOCKWARDEN_RESET_SEED ?? 20261205);
/** Resets stop after this many, so the install always ends; the test asserts a good share happened. */
const MAX_RESETS = 60;

let dir: string;
let registry: FakeRegistry;
let serve: ServeProcess;
let relay: Server;
let relayUrl: string;
const resets = { afterRequest: 0, midResponse: 0 };
/**
 * Set once the chaos rounds are over: the relay then passes everything, like a network that came
 * back. Whether npm outlasts a given run of resets depends on how its requests interleave, which
 * the seed cannot fix; what must hold every time is that the service is left in a state where the
 * next install succeeds (no poisoned cache, no wedged connection pool, still the same process).
 */
let calm = false;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * A TCP relay to the service that, for each request a client sends, passes it (40%), resets the
 * client's connection 0-30 ms after the request (30%), or after a random number of bytes of the
 * response (30%). A reset is an RST to the client and a plain close toward the service, which is
 * what the service sees of a client that went away. npm keeps connections alive, so the roll is
 * per request, not per connection.
 */
function startChaosRelay(target: URL, rnd: () => number): Promise<{ server: Server; url: string }> {
  const server = createServer((client: Socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    let cutAt = Number.POSITIVE_INFINITY;
    let received = 0;
    let cut = false;
    const reset = (kind: 'afterRequest' | 'midResponse') => {
      if (cut || calm) return;
      cut = true;
      resets[kind]++;
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (cut || calm || !/^(GET|HEAD|POST|PUT) /.test(chunk.subarray(0, 8).toString('latin1'))) return;
      if (resets.afterRequest + resets.midResponse >= MAX_RESETS) return;
      const roll = rnd();
      if (roll < 0.4) return;
      if (roll < 0.7) setTimeout(() => reset('afterRequest'), Math.floor(rnd() * 30));
      else cutAt = received + Math.floor(rnd() * 8 * 1024);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (received + chunk.length > cutAt) {
        client.write(chunk.subarray(0, cutAt - received));
        reset('midResponse');
        return;
      }
      received += chunk.length;
      client.write(chunk);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-resets-'));
  // reset-pkg-0 depends on 1..5, each of those on the two five and ten further: three levels.
  const deps = (i: number) =>
    Object.fromEntries(
      NAMES.filter((_, j) => (i === 0 ? j >= 1 && j <= 5 : j === i + 5 || j === i + 10)).map((n) => [
        n,
        '^1.0.0',
      ]),
    );
  const packuments = NAMES.map((name, i) =>
    makePackument({
      name,
      versions: [
        { version: '1.0.0', publishedAt: ago(400), dependencies: deps(i) },
        { version: '1.1.0', publishedAt: ago(200), dependencies: deps(i) },
      ],
      targetBytes: 32 * 1024,
    }),
  );
  registry = await startFakeRegistry({ shape: 'public', packuments });
  // Some answers arrive late, so resets land while the proxy is still waiting for the upstream.
  let n = 0;
  registry.fault({ kind: 'delay', ms: 25, match: () => n++ % 3 === 0 });
  await writeFile(join(dir, 'resets.json'), JSON.stringify({ id: 'resets', coolingOffDays: 7 }));
  serve = await startServeProcess({
    cwd: dir,
    args: ['--data', join(dir, 'data'), '--upstream', registry.url, '--policy', join(dir, 'resets.json')],
    env: {},
  });
  ({ server: relay, url: relayUrl } = await startChaosRelay(new URL(serve.url), random(SEED)));
});

afterAll(async () => {
  await serve?.stop();
  await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
  await registry?.close();
  await rm(dir, { recursive: true, force: true });
});

function npmInstall(project: string, registryUrl: string, home: string) {
  // npm's own retries, quick: a reset is retried as a network error.
  const config = { fetch_retries: '4', fetch_retry_mintimeout: '50', fetch_retry_maxtimeout: '200' };
  return runNpm(['install'], { cwd: project, registryUrl, home, config });
}

async function newProject(name: string): Promise<{ project: string; home: string }> {
  const project = join(dir, name);
  const home = join(dir, `${name}-home`);
  await rm(project, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(project, { recursive: true });
  await mkdir(home, { recursive: true });
  await writeFile(join(home, '.npmrc'), '');
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, dependencies: { [NAMES[0]!]: '^1.0.0' } }),
  );
  return { project, home };
}

describe('npm installing through random connection resets', () => {
  it('finishes on retry while the service stays up and serves a direct client', async () => {
    const chaos = await newProject('through-resets');
    const direct = await newProject('direct');
    // Both at once: the direct client installs while the other's connections are being reset.
    const [directRun, ...attempts] = await Promise.all([
      npmInstall(direct.project, `${serve.url}/resets/`, direct.home),
      npmInstall(chaos.project, `${relayUrl}/resets/`, chaos.home),
    ]);
    expect(directRun!.code, directRun!.stderr).toBe(0);
    // npm gives up on a request after its retries: running the install again is what a user does.
    // Two more tries through the resets, then the network calms down and one install must finish.
    let last = attempts[0]!;
    for (let i = 0; i < 2 && last.code !== 0; i++) {
      last = await npmInstall(chaos.project, `${relayUrl}/resets/`, chaos.home);
      attempts.push(last);
    }
    calm = true;
    if (last.code !== 0) {
      last = await npmInstall(chaos.project, `${relayUrl}/resets/`, chaos.home);
      attempts.push(last);
    }
    expect(last.code, `seed ${SEED}, ${attempts.length} attempts:\n${last.stderr}`).toBe(0);
    for (const name of NAMES) {
      const manifest = JSON.parse(
        await readFile(join(chaos.project, 'node_modules', name, 'package.json'), 'utf8'),
      ) as { version: string };
      expect(manifest.version).toBe('1.1.0');
    }
    // The relay did reset connections, both before answers and during them.
    // (How many depends on how npm's requests interleave; the seed fixes the rolls, not the order.)
    expect(resets.afterRequest + resets.midResponse, JSON.stringify(resets)).toBeGreaterThanOrEqual(15);
    expect(Math.min(resets.afterRequest, resets.midResponse), JSON.stringify(resets)).toBeGreaterThanOrEqual(
      3,
    );
    // The service is the same process, alive and healthy, with no unhandled error logged.
    expect(serve.child.exitCode).toBeNull();
    const health = await fetch(`${serve.url}/-/lockwarden/v1/health`);
    expect(health.status).toBe(200);
    expect(serve.output()).not.toMatch(/Unhandled|uncaught|ERR_STREAM|RequestAbortedError/i);
    // Up to five real npm installs: on a loaded CI machine each can take tens of seconds.
  }, 300_000);
});
