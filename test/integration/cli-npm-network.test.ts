// The CLI reaches its registry the way npm would on a locked-down network: through the forward
// proxy HTTPS_PROXY names (unless NO_PROXY exempts the host), trusting the CA that `cafile` gives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { createHttpClient } from '../../src/sources/http-client.js';
import { makePackument } from '../helpers/make-packument.js';
import {
  type ForwardProxy,
  makeSelfSignedCert,
  type SelfSignedCert,
  startForwardProxy,
} from '../helpers/tls-and-proxy.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');

let work: string;
let cert: SelfSignedCert;
let registry: Server;
let registryUrl: string;
let proxy: ForwardProxy;
const asked: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-network-'));
  cert = await makeSelfSignedCert(work);
  const doc = JSON.stringify(
    makePackument({
      name: 'left-pad',
      versions: [{ version: '1.3.0', publishedAt: new Date(NOW.getTime() - 900 * 86_400_000) }],
    }),
  );
  registry = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    asked.push(req.url ?? '');
    if (req.url === '/left-pad') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(doc);
    } else {
      res.writeHead(404);
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryUrl = `https://localhost:${(registry.address() as AddressInfo).port}/`;
  proxy = await startForwardProxy();
  writeFileSync(path.join(work, 'package.json'), '{}');
  writeFileSync(path.join(work, 'policy.json'), JSON.stringify({ id: 'net', coolingOffDays: 7 }));
});

afterAll(async () => {
  await proxy.close();
  registry.closeAllConnections();
  await new Promise<void>((resolve) => registry.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

async function check(npmrc: string, env: Record<string, string>) {
  writeFileSync(path.join(work, '.npmrc'), npmrc);
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c));
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c));
  const code = await runCli(
    [
      'check',
      'left-pad@1.3.0',
      '--json',
      '--cache-dir',
      path.join(work, `cache-${Math.random()}`),
      '--retries',
      '0',
      '--policy',
      path.join(work, 'policy.json'),
    ],
    {
      stdout: Object.assign(stdout, { isTTY: false }),
      stderr: Object.assign(stderr, { isTTY: false }),
      env: { HOME: work, npm_config_globalconfig: path.join(work, 'no-global'), ...env },
      cwd: work,
      now: () => NOW,
    },
  );
  if (!out) throw new Error(`no report (exit ${code}): ${err}`);
  return { code, report: JSON.parse(out) as Report };
}

describe('npm network settings in the CLI', () => {
  it('goes through the HTTPS_PROXY tunnel to a TLS registry whose CA comes from cafile', async () => {
    proxy.connects.length = 0;
    const { code, report } = await check(`registry=${registryUrl}\ncafile=${cert.certFile}\n`, {
      HTTPS_PROXY: proxy.url,
    });
    expect(report.summary, JSON.stringify(report)).toMatchObject({ checked: 1, allowed: 1, unavailable: 0 });
    expect(code).toBe(0);
    expect(proxy.connects).toEqual([new URL(registryUrl).host]);
  });

  it('goes direct for a NO_PROXY host, and reports an untrusted certificate without the CA', async () => {
    proxy.connects.length = 0;
    const direct = await check(`registry=${registryUrl}\ncafile=${cert.certFile}\n`, {
      HTTPS_PROXY: proxy.url,
      NO_PROXY: 'localhost',
    });
    expect(direct.report.summary).toMatchObject({ allowed: 1 });
    expect(proxy.connects).toEqual([]);
    const untrusted = await check(`registry=${registryUrl}\n`, {});
    expect(untrusted.report.summary).toMatchObject({ allowed: 0, unavailable: 1 });
    expect(untrusted.report.findings[0]?.message).toMatch(/SELF_SIGNED_CERT/);
  });

  it('goes direct to an https registry when only HTTP_PROXY is set, as npm does', async () => {
    // @npmcli/agent takes https_proxy alone for https URLs from the environment; undici's
    // EnvHttpProxyAgent would fall back to the http proxy.
    proxy.connects.length = 0;
    const { report } = await check(`registry=${registryUrl}\ncafile=${cert.certFile}\n`, {
      HTTP_PROXY: proxy.url,
    });
    expect(report.summary, JSON.stringify(report)).toMatchObject({ allowed: 1, unavailable: 0 });
    expect(proxy.connects).toEqual([]);
    // A configured `proxy` (npm passes https-proxy || proxy for every URL) still tunnels https.
    const configured = await check(
      `registry=${registryUrl}\ncafile=${cert.certFile}\nproxy=${proxy.url}\n`,
      {},
    );
    expect(configured.report.summary).toMatchObject({ allowed: 1 });
    expect(proxy.connects).toEqual([new URL(registryUrl).host]);
  });

  it('accepts the certificate with strict-ssl=false, as npm does', async () => {
    const { report } = await check(`registry=${registryUrl}\nstrict-ssl=false\n`, {});
    expect(report.summary).toMatchObject({ allowed: 1 });
  });
});

describe('npm TLS settings apply to its registries only', () => {
  it('strict-ssl=false and ca reach the registry origins, not the downloads API or GitHub', async () => {
    const registryOrigin = new URL(registryUrl).origin;
    // The same server under another origin stands for any host that is not a registry.
    const otherUrl = registryUrl.replace('localhost', '127.0.0.1');
    for (const network of [
      { strictSsl: false, tlsOrigins: [registryOrigin] },
      { ca: [cert.cert], tlsOrigins: [registryOrigin] },
    ]) {
      const client = createHttpClient({ network, retries: 0 });
      try {
        const ok = await client.request({ url: `${registryUrl}left-pad`, source: 'registry' });
        expect(ok.status).toBe('response');
        const other = await client.request({ url: `${otherUrl}left-pad`, source: 'github' });
        expect(other).toMatchObject({ status: 'unavailable' });
        if (other.status === 'unavailable') expect(other.reason).toMatch(/SELF_SIGNED_CERT|certificate/i);
      } finally {
        await client.close();
      }
    }
  });
});
