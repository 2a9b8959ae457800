import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/sources/http-client.js';
import { createOsvAdvisorySource } from '../../src/sources/osv-advisories-source.js';
import { createRegistryAdvisorySource } from '../../src/sources/registry-advisories-source.js';

// The advisory queries are POSTs: they must be retried like GETs, or one 503 (or a reset
// connection) from the advisory endpoint makes every package's advisories unavailable for the run.
let server: Server;
let base: string;
const seen: string[] = [];
/** Per path: how many times to fail before answering. */
const failures = new Map<string, 'status' | 'reset'>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const path = req.url ?? '';
      seen.push(`${req.method} ${path}`);
      const fail = failures.get(path);
      failures.delete(path);
      if (fail === 'reset') return req.socket.destroy();
      if (fail === 'status') {
        res.writeHead(503).end('busy');
        return;
      }
      res.setHeader('content-type', 'application/json');
      if (path === '/-/npm/v1/security/advisories/bulk') {
        const asked = JSON.parse(body) as Record<string, string[]>;
        res.end(
          JSON.stringify(
            Object.fromEntries(
              Object.keys(asked).map((name) => [
                name,
                [
                  {
                    id: 1,
                    url: 'https://advisories.test/GHSA-aaaa-bbbb-cccc',
                    title: 'Bad',
                    severity: 'high',
                    vulnerable_versions: '<1.0.1',
                  },
                ],
              ]),
            ),
          ),
        );
      } else if (path === '/v1/querybatch') {
        const { queries } = JSON.parse(body) as { queries: unknown[] };
        res.end(JSON.stringify({ results: queries.map(() => ({})) }));
      } else res.writeHead(404).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const http = () => createHttpClient({ sleep: async () => {} });

describe('advisory queries (POST) are retried', () => {
  it.each(['status', 'reset'] as const)('by the registry bulk source after a %s', async (kind) => {
    seen.length = 0;
    failures.set('/-/npm/v1/security/advisories/bulk', kind);
    const source = createRegistryAdvisorySource({ registryUrl: base, http: http() });
    const facts = await source.getAdvisories(new Map([['left-pad', ['1.0.0']]]));
    expect(facts.get('left-pad')).toMatchObject({ status: 'ok', value: [{ id: 'GHSA-aaaa-bbbb-cccc' }] });
    expect(seen).toEqual([
      'POST /-/npm/v1/security/advisories/bulk',
      'POST /-/npm/v1/security/advisories/bulk',
    ]);
  });

  it.each(['status', 'reset'] as const)('by the OSV source after a %s', async (kind) => {
    seen.length = 0;
    failures.set('/v1/querybatch', kind);
    const source = createOsvAdvisorySource({ url: base, http: http() });
    const facts = await source.getAdvisories(new Map([['left-pad', ['1.0.0']]]));
    expect(facts.get('left-pad')).toMatchObject({ status: 'ok', value: [] });
    expect(seen).toEqual(['POST /v1/querybatch', 'POST /v1/querybatch']);
  });
});
