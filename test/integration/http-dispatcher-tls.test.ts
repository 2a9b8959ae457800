// npm's `ca` (a `cafile` is often the whole system bundle) is one TLS context for every
// connection a dispatcher opens: Node.js builds a context per connection when `ca` is passed to
// each one, parsing every certificate again (~45 ms per connection for Debian's bundle).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../../src/sources/http-dispatcher.js';
import { makeSelfSignedCert, type SelfSignedCert } from '../helpers/tls-and-proxy.js';

let work: string;
let cert: SelfSignedCert;
let server: Server;
let url: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-tls-context-'));
  cert = await makeSelfSignedCert(work);
  // Every answer closes its connection: each request needs a new TLS connection.
  server = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => {
    res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

describe("TLS with npm's ca", () => {
  it('verifies the server with the configured CA through one context for all connections', async () => {
    const spy = vi.spyOn(tls, 'createSecureContext');
    try {
      const network = { ca: [cert.cert] };
      // Two dispatchers from one configuration (as a service builds them) share it too.
      const dispatchers = [0, 1].map(() =>
        createDispatcher({ network, connections: 1, connectTimeoutMs: 5_000 }),
      );
      for (let i = 0; i < 6; i++) {
        const res = await dispatchers[i % 2]!.request({ origin: url, path: '/', method: 'GET' });
        expect(res.statusCode).toBe(200);
        expect(await res.body.text()).toBe('ok');
      }
      expect(spy).toHaveBeenCalledTimes(1);
      await Promise.all(dispatchers.map((d) => d.close()));
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses the server without the CA', async () => {
    const dispatcher = createDispatcher({ network: {}, connections: 1, connectTimeoutMs: 5_000 });
    await expect(dispatcher.request({ origin: url, path: '/', method: 'GET' })).rejects.toThrow(
      /self[- ]signed|certificate/i,
    );
    await dispatcher.close();
  });
});
