// The service-mode client against a loopback fake of the check API: batching, and every way a
// response can be wrong, each failing with a message that names the service and what to fix.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWithService } from '../../src/action/check-with-service.js';
import { closedPortUrl, type FakeServer, sendJson, startFakeServer } from '../helpers/fake-upstream.js';
import { makeFinding } from '../helpers/make-action-report.js';

const POLICY = { id: 'team', name: 'Team', action: 'block', onUnavailable: 'alert', revision: 3 };
let mode: 'echo' | 'short' | 'swapped' | 'garbage' | 'bad-finding' = 'echo';
let bodies: {
  packages: { name: string; version: string; bundles?: string }[];
  mode?: string;
  updates?: { name: string; from: string; to: string }[];
}[] = [];
/** Answer with `updatesChecked` (a service that judges semver honesty). */
let judgesUpdates = true;
let server: FakeServer;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  server = await startFakeServer(async (req, res, recorded) => {
    if (recorded.path === '/-/lockwarden/v1/policies/broken/check')
      return sendJson(res, 500, { error: 'internal error in lockwarden' });
    const parsed = JSON.parse(await body(req)) as (typeof bodies)[number];
    bodies.push(parsed);
    const verdicts = parsed.packages.map((p) => ({
      name: p.name,
      version: p.version,
      decision: 'block',
      findings: [makeFinding({ name: p.name, version: p.version })],
      notices: [],
    }));
    if (mode === 'garbage') return sendJson(res, 200, { verdicts: 'all good' });
    if (mode === 'short') verdicts.pop();
    if (mode === 'swapped') verdicts.reverse();
    if (mode === 'bad-finding') (verdicts[0]!.findings[0] as { rule: string }).rule = 'vibes';
    const checked = judgesUpdates
      ? {
          updatesChecked: parsed.updates?.length ?? 0,
          bundlesChecked: parsed.packages.filter((p) => p.bundles === 'unlisted').length,
        }
      : {};
    return sendJson(res, 200, { policy: POLICY, ...checked, verdicts });
  });
});

afterAll(() => server?.close());

const packages = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, version: '1.0.0' }));
const ask = (policyId = 'team', extra = {}) =>
  checkWithService({ url: server.url, token: 't', policyId, packages, ...extra });

describe('checkWithService', () => {
  it('asks in batches and returns verdicts in order with the policy summary', async () => {
    mode = 'echo';
    bodies = [];
    const answer = await ask('team', { batchSize: 2 });
    expect(bodies.map((b) => b.packages.map((p) => p.name))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(answer.verdicts.map((v) => v.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(answer.policy).toEqual({
      id: 'team',
      name: 'Team',
      action: 'block',
      onUnavailable: 'alert',
      revision: 3,
    });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer t');
  });

  it('tells the service about a dry run, in every batch, so its audit log says alert', async () => {
    mode = 'echo';
    bodies = [];
    await ask('team', { batchSize: 3, mode: 'alert' });
    expect(bodies.map((b) => b.mode)).toEqual(['alert', 'alert']);
    bodies = [];
    await ask('team');
    expect(bodies.map((b) => Object.keys(b))).toEqual([['packages']]);
  });

  it('sends each update with the batch that holds its target, and notices a service that ignores them', async () => {
    mode = 'echo';
    bodies = [];
    const updates = [
      { name: 'd', from: '0.9.0', to: '1.0.0' },
      { name: 'a', from: '0.8.0', to: '1.0.0' },
      { name: 'zz', from: '1.0.0', to: '1.1.0' },
    ];
    const answer = await ask('team', { batchSize: 2, updates });
    expect(bodies.map((b) => b.updates)).toEqual([[updates[1]], [updates[0]], undefined]);
    expect(answer.updatesIgnored).toBeUndefined();
    judgesUpdates = false;
    try {
      expect((await ask('team', { updates })).updatesIgnored).toBe(true);
      expect((await ask('team')).updatesIgnored).toBeUndefined();
    } finally {
      judgesUpdates = true;
    }
  });

  it('flags the entries whose bundles the lockfile does not list, and notices a service that ignores the flag', async () => {
    mode = 'echo';
    bodies = [];
    const flagged = packages.map((p, i) => ({ ...p, ...(i === 3 ? { bundlesUnlisted: true } : {}) }));
    const answer = await ask('team', { batchSize: 2, packages: flagged });
    expect(bodies.map((b) => b.packages.map((p) => p.bundles ?? '-'))).toEqual([
      ['-', '-'],
      ['-', 'unlisted'],
      ['-'],
    ]);
    expect(answer.bundlesIgnored).toBeUndefined();
    judgesUpdates = false;
    try {
      expect((await ask('team', { packages: flagged })).bundlesIgnored).toBe(true);
      expect((await ask('team')).bundlesIgnored).toBeUndefined();
    } finally {
      judgesUpdates = true;
    }
  });

  it('asks once with an empty list, for the policy', async () => {
    mode = 'echo';
    bodies = [];
    const answer = await checkWithService({ url: server.url, policyId: 'team', packages: [] });
    expect(bodies).toEqual([{ packages: [] }]);
    expect(answer.verdicts).toEqual([]);
  });

  it.each([
    ['garbage', /the response is not a check result \(at policy: /],
    ['short', /asked about 5 packages, got 4 verdicts/],
    ['swapped', /verdict 0 is for e@1.0.0, expected a@1.0.0/],
    ['bad-finding', /the response is not a check result \(at verdicts.0.findings.0.rule: /],
  ] as const)('refuses a %s response', async (m, message) => {
    mode = m;
    await expect(ask()).rejects.toMatchObject({ code: 'ESERVICE', message: expect.stringMatching(message) });
  });

  it('passes on the service error message', async () => {
    await expect(ask('broken')).rejects.toThrow(
      /lockwarden service http:\/\/127\.0\.0\.1:\d+\/-\/lockwarden\/v1\/policies\/broken\/check: HTTP 500: internal error in lockwarden/,
    );
  });

  it('names the input when the service cannot be reached', async () => {
    const url = await closedPortUrl();
    await expect(checkWithService({ url, policyId: 'team', packages })).rejects.toThrow(
      /connection refused( \(after \d attempts\))? \(input `service-url`\)/,
    );
  });
});
