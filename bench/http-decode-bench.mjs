#!/usr/bin/env node
// `npm run bench:http`: why the HTTP layer (src/sources/http-client.ts) decodes bodies itself
// instead of through undici's `interceptors.decompress`. A loopback server in its own process
// serves gzip-compressed JSON documents of the sizes a cold audit fetches (2–60 KB decoded, a few
// of 1–8 MB); the client fetches each document once, 32 at a time, through
//   - lockwarden's createHttpClient (queue, breaker and deadline included, one zlib call per body:
//     synchronous up to 128 KB compressed, in the thread pool above), and
//   - undici's Agent and request with the same one-call decoding, without lockwarden's client, and
//   - undici's Agent composed with interceptors.decompress (maxSize as the limit), body read whole,
// rotating the order over rounds, and prints wall time and the client process's CPU time.
// Options: --rounds N (default 5), --documents N (default 2000), --baseline DIR (a built checkout
// of an earlier commit: its createHttpClient as one more arm, for a before/after in one run),
// --only-clients (the lockwarden arms alone).
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { gunzip, gunzipSync, gzipSync } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

import { ensureBuilt } from './ensure-built.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONCURRENCY = 32;
const MAX_BYTES = 64 * 1024 * 1024;

if (process.argv[2] === '--serve-child') serve(Number(process.argv[3]));
else await main();

/** Deterministic documents shaped like packuments: many versions of repetitive JSON. */
function documentFor(i) {
  const big = i % 500 === 0;
  const versions = big ? 2000 + (i % 7) * 1000 : 5 + ((i * 7919) % 120);
  const doc = { name: `pkg-${i}`, 'dist-tags': { latest: `1.${versions - 1}.0` }, versions: {}, time: {} };
  for (let v = 0; v < versions; v++) {
    const version = `1.${v}.0`;
    doc.versions[version] = {
      name: `pkg-${i}`,
      version,
      description: `Package ${i} does thing number ${(i * 31 + v) % 997}`,
      dependencies: { [`dep-${(i + v) % 50}`]: `^${v % 9}.0.0`, [`dep-${(i * 3 + v) % 70}`]: '~2.1.0' },
      dist: {
        tarball: `http://127.0.0.1/pkg-${i}/-/pkg-${i}-${version}.tgz`,
        integrity: `sha512-${Buffer.from(`${i}:${v}`).toString('base64').repeat(6)}`,
        shasum: ((i * 2654435761 + v) >>> 0).toString(16).padStart(40, '0'),
      },
    };
    doc.time[version] = new Date(Date.UTC(2020, 0, 1) + (i * 1000 + v) * 3_600_000).toISOString();
  }
  return gzipSync(JSON.stringify(doc));
}

function serve(count) {
  const bodies = Array.from({ length: count }, (_, i) => documentFor(i));
  const server = createServer((req, res) => {
    const i = Number(req.url.slice(1));
    const body = bodies[i];
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'content-length': body.length,
    });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    const decoded = bodies.reduce((n, _b, i) => n + (i % 500 === 0 ? 1 : 0), 0);
    process.send({
      port: server.address().port,
      wire: bodies.reduce((n, b) => n + b.length, 0),
      large: decoded,
    });
  });
}

async function main() {
  const { values: flags } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      documents: { type: 'string', default: '2000' },
      baseline: { type: 'string' },
      'only-clients': { type: 'boolean', default: false },
    },
  });
  ensureBuilt(console.log);
  const count = Number(flags.documents);
  const { createHttpClient } = await import(pathToFileURL(join(root, 'lib/src/sources/http-client.js')).href);
  const { Agent, interceptors, request } = await import('undici');
  const child = fork(fileURLToPath(import.meta.url), ['--serve-child', String(count)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise((ok) => child.once('message', ok));
  const base = `http://127.0.0.1:${info.port}/`;
  const cpus = os.cpus();
  console.log('lockwarden HTTP decoding benchmark');
  console.log(
    `machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `${count} gzip documents (${(info.wire / 1e6).toFixed(1)} MB on the wire, ${info.large} of them 1–8 MB decoded), ${CONCURRENCY} at a time, each once per round`,
  );

  const clientArm = (create, options) => async () => {
    const client = create({ maxConcurrency: CONCURRENCY, retries: 0, ...options });
    let bytes = 0;
    await each(count, async (i) => {
      const r = await client.request({ url: `${base}${i}`, source: 'bench' });
      if (r.status !== 'response' || r.statusCode !== 200) throw new Error(`document ${i}: ${r.reason}`);
      bytes += r.body.length;
    });
    await client.close();
    return bytes;
  };
  const baseline = flags.baseline
    ? (await import(pathToFileURL(join(resolve(flags.baseline), 'lib/src/sources/http-client.js')).href))
        .createHttpClient
    : undefined;
  const arms = {
    'lockwarden HTTP client': clientArm(createHttpClient),
    // npm's cafile/ca for the registry (a global npmrc naming the system bundle is common): the
    // registry's origin then gets its own pool, routed per request.
    'lockwarden HTTP client, npm ca': clientArm(createHttpClient, {
      network: { ca: ['bench-ca'], tlsOrigins: [new URL(base).origin] },
    }),
    ...(baseline ? { [`baseline HTTP client (${flags.baseline})`]: clientArm(baseline) } : {}),
    'undici request, one zlib call': async () => {
      const agent = new Agent({ connections: CONCURRENCY });
      let bytes = 0;
      await each(count, async (i) => {
        const res = await request(`${base}${i}`, {
          dispatcher: agent,
          headers: { 'accept-encoding': 'gzip, deflate, br' },
        });
        const chunks = [];
        for await (const c of res.body) chunks.push(c);
        const raw = Buffer.concat(chunks);
        const options = { maxOutputLength: MAX_BYTES, chunkSize: 256 * 1024 };
        const body = raw.length <= 128 * 1024 ? gunzipSync(raw, options) : await gunzipAsync(raw, options);
        if (res.statusCode !== 200) throw new Error(`document ${i}: HTTP ${res.statusCode}`);
        bytes += body.length;
      });
      await agent.close();
      return bytes;
    },
    'undici interceptors.decompress': async () => {
      const agent = new Agent({ connections: CONCURRENCY }).compose(
        interceptors.decompress({ maxSize: MAX_BYTES }),
      );
      let bytes = 0;
      await each(count, async (i) => {
        const res = await request(`${base}${i}`, {
          dispatcher: agent,
          headers: { 'accept-encoding': 'gzip, deflate, br' },
        });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode !== 200) throw new Error(`document ${i}: HTTP ${res.statusCode}`);
        bytes += body.length;
      });
      await agent.close();
      return bytes;
    },
  };
  if (flags['only-clients']) {
    delete arms['undici request, one zlib call'];
    delete arms['undici interceptors.decompress'];
  }
  const results = Object.fromEntries(Object.keys(arms).map((k) => [k, { wall: [], cpu: [] }]));
  // One untimed pass each: code loaded and connections' first costs paid before measuring.
  for (const run of Object.values(arms)) await run();
  const decodedBytes = {};
  for (let round = 0; round < Number(flags.rounds); round++) {
    const names = Object.keys(arms);
    // Rotating order, so each arm meets the machine's load of the moment.
    for (const name of names.map((_, k) => names[(k + round) % names.length])) {
      globalThis.gc?.();
      const cpu = process.cpuUsage();
      const started = performance.now();
      decodedBytes[name] = await arms[name]();
      results[name].wall.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      results[name].cpu.push((used.user + used.system) / 1000);
    }
  }
  const a = 'lockwarden HTTP client';
  const b = flags['only-clients'] ? a : 'undici interceptors.decompress';
  if (new Set(Object.values(decodedBytes)).size !== 1) throw new Error('the arms decoded different bytes');
  console.log(`decoded: ${(decodedBytes[a] / 1e6).toFixed(1)} MB per round`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(32)} wall median ${median(r.wall).toFixed(0)} ms (${r.wall.map((x) => x.toFixed(0)).join(', ')}); CPU median ${median(r.cpu).toFixed(0)} ms`,
    );
  }
  for (const name of Object.keys(arms).filter((n) => n !== b)) {
    const pairs = results[name].cpu.map((c, i) => c / results[b].cpu[i]);
    console.log(`  CPU, ${name} / ${b}: ${median(pairs).toFixed(2)} (median of per-round ratios)`);
  }
  child.kill();
}

async function each(count, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}
