// The admin API: token, policy CRUD with the engine's validation messages, the check API the
// Action's service mode calls, audit log queries, and state that survives a restart.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCheckTokens } from '../../server/check-tokens.js';
import { createEmbeddedStore } from '../../server/embedded-store.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

let h: ProxyHarness;
afterEach(async () => {
  // Forgotten first: a test that starts no service must not close the previous test's again.
  const running: ProxyHarness | undefined = h;
  h = undefined as unknown as ProxyHarness;
  await running?.close();
});

const packuments = () => [
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.0.0', publishedAt: new Date(daysAgo(40)) },
      { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
    ],
  }),
];

describe('admin token', () => {
  it('refuses requests without the token or with a wrong one', async () => {
    h = await startProxyHarness();
    const none = await h.request({ url: '/-/lockwarden/v1/policies' });
    expect(none.status).toBe(401);
    expect(none.json().error).toMatch(/needs "Authorization: Bearer <token>"/);
    const wrong = await h.request({
      url: '/-/lockwarden/v1/policies',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('the admin token is wrong');
  });

  it('generates a token on first start, stores only its hash, and does not print it again', async () => {
    h = await startProxyHarness({ generatedToken: true });
    const token = h.service.adminToken.generated;
    expect(token).toMatch(/^lw_[A-Za-z0-9_-]{32}$/);
    const stored = await readFile(join(h.dataDir, 'admin-token.json'), 'utf8');
    expect(stored).not.toContain(token!);
    const ok = await h.request({
      url: '/-/lockwarden/v1/policies',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    await h.restart();
    expect(h.service.adminToken.generated).toBeNull();
    expect(h.service.adminToken.verify(token!)).toBe(true);
  });
});

describe('policies', () => {
  it('starts with the default policy and lists it with its NPM_CONFIG_REGISTRY line', async () => {
    h = await startProxyHarness();
    const res = await h.admin('GET', '/policies');
    expect(res.status).toBe(200);
    expect(res.json().policies).toEqual([
      expect.objectContaining({
        id: 'default',
        revision: 1,
        npmConfigRegistry: 'NPM_CONFIG_REGISTRY=http://127.0.0.1:4880/default/',
        policy: expect.objectContaining({ coolingOffDays: 7, action: 'block' }),
      }),
    ]);
  });

  it('creates, reads, updates and deletes a policy; revisions count', async () => {
    h = await startProxyHarness({ packuments: packuments() });
    const created = await h.admin('POST', '/policies', {
      id: 'team',
      coolingOffDays: 3,
      allow: [{ package: 'left-pad', reason: 'vetted' }],
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/-/lockwarden/v1/policies/team');
    expect(created.json()).toMatchObject({ id: 'team', revision: 1, origin: { kind: 'store' } });
    expect(created.json().policy.allow).toEqual([{ package: 'left-pad', reason: 'vetted' }]);

    expect((await h.admin('POST', '/policies', { id: 'team' })).status).toBe(409);
    const updated = await h.admin('PUT', '/policies/team', { coolingOffDays: 5 });
    expect(updated.json()).toMatchObject({ revision: 2, policy: { coolingOffDays: 5, allow: [] } });
    expect((await h.admin('GET', '/policies/team')).json().revision).toBe(2);
    const mismatch = await h.admin('PUT', '/policies/team', { id: 'other' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json().error).toMatch(/does not match the policy in the URL/);

    expect((await h.admin('DELETE', '/policies/team')).status).toBe(204);
    expect((await h.admin('GET', '/policies/team')).status).toBe(404);
    expect((await h.request({ url: '/team/left-pad' })).status).toBe(404);
  });

  it('rejects invalid policies with the engine validation messages, every problem at once', async () => {
    h = await startProxyHarness();
    const res = await h.admin('POST', '/policies', { id: 'Bad Id', coolingOffDays: '7d', actoin: 'block' });
    expect(res.status).toBe(400);
    const body = res.json();
    expect(body.error).toMatch(/^request body: invalid policy, 3 problems:/);
    expect(body.problems.map((p: { path: string }) => p.path).sort()).toEqual([
      'actoin',
      'coolingOffDays',
      'id',
    ]);
    const notJson = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies',
      headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
      body: '{"id": ',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error).toMatch(/^request body is not valid JSON/);
  });

  it('keeps policies loaded from files read-only', async () => {
    h = await startProxyHarness({ filePolicies: [{ id: 'from-git', coolingOffDays: 2 }] });
    const list = (await h.admin('GET', '/policies')).json().policies;
    expect(list.map((p: { id: string }) => p.id)).toEqual(['from-git']);
    const res = await h.admin('PUT', '/policies/from-git', { coolingOffDays: 0 });
    expect(res.status).toBe(409);
    expect(res.json().error).toBe(
      'policy "from-git" is loaded from policies/from-git.json; change that file and restart the service',
    );
    expect((await h.admin('DELETE', '/policies/from-git')).status).toBe(409);
  });

  it('keeps policies across a restart', async () => {
    h = await startProxyHarness();
    await h.admin('POST', '/policies', { id: 'kept', coolingOffDays: 1 });
    await h.admin('PUT', '/policies/kept', { coolingOffDays: 2 });
    await h.restart();
    expect((await h.admin('GET', '/policies/kept')).json()).toMatchObject({
      revision: 2,
      policy: { coolingOffDays: 2 },
    });
  });
});

describe('check tokens', () => {
  it('let CI call the check API and nothing else; the admin token still works everywhere', async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
      app: { checkTokens: ['ci-token-1', 'ci-token-2'] },
    });
    const as = (token: string | null, method: string, path: string, body?: object) =>
      h.request({
        method,
        url: `/-/lockwarden/v1${path}`,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        ...(body ? { body } : {}),
      });
    const check = { packages: [{ name: 'left-pad', version: '1.2.0' }] };
    for (const token of ['ci-token-1', 'ci-token-2', 'test-admin-token']) {
      const res = await as(token, 'POST', '/policies/strict/check', check);
      expect(res.status).toBe(200);
      expect(res.json().verdicts[0].decision).toBe('block');
    }
    const adminOnly: Array<[string, string, object?]> = [
      ['GET', '/policies'],
      ['GET', '/policies/strict'],
      ['POST', '/policies', { id: 'sneaky' }],
      ['PUT', '/policies/strict', { id: 'strict' }],
      ['DELETE', '/policies/strict'],
      ['GET', '/audit'],
      ['GET', '/cache'],
      ['DELETE', '/cache'],
    ];
    for (const [method, path, body] of adminOnly) {
      const res = await as('ci-token-1', method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json().error).toMatch(/^this is a check token: .*needs the admin token$/);
    }
    expect(await h.service.policies.get('sneaky')).toBeUndefined();
    const wrong = await as('nope', 'POST', '/policies/strict/check', check);
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('the token is neither a check token nor the admin token');
    const none = await as(null, 'POST', '/policies/strict/check', check);
    expect(none.status).toBe(401);
    expect(none.json().error).toMatch(
      /a check token \(LOCKWARDEN_CHECK_TOKEN, or one issued at POST .*\) or the admin token/,
    );
    expect((await as('test-admin-token', 'GET', '/audit')).json().entries).toHaveLength(3);
  });
});

describe('check tokens issued through the API', () => {
  it('are shown once, check only the policies they name, survive a restart and stop working when revoked', async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [
        { id: 'strict', coolingOffDays: 7 },
        { id: 'relaxed', coolingOffDays: 1 },
      ],
    });
    const as = (token: string, method: string, path: string, body?: object) =>
      h.request({
        method,
        url: `/-/lockwarden/v1${path}`,
        headers: { authorization: `Bearer ${token}` },
        ...(body ? { body } : {}),
      });
    const check = { packages: [{ name: 'left-pad', version: '1.2.0' }] };
    const issued = await h.admin('POST', '/check-tokens', { name: 'ci-web', policies: ['strict'] });
    expect(issued.status).toBe(201);
    expect(issued.headers['cache-control']).toBe('no-store');
    const { token, id } = issued.json();
    expect(token).toMatch(/^lwc_[A-Za-z0-9_-]{32}$/);
    expect(issued.json()).toMatchObject({ name: 'ci-web', policies: ['strict'] });

    expect((await as(token, 'POST', '/policies/strict/check', check)).status).toBe(200);
    const other = await as(token, 'POST', '/policies/relaxed/check', check);
    expect(other.status).toBe(403);
    expect(other.json().error).toBe('check token "ci-web" may check "strict", not "relaxed"');
    expect((await as(token, 'GET', '/audit')).status).toBe(403);
    expect((await as(token, 'GET', '/check-tokens')).status).toBe(403);

    // Listed without the token; only its hash is on disk.
    const listed = (await h.admin('GET', '/check-tokens')).json();
    expect(listed).toEqual({
      tokens: [{ id, name: 'ci-web', policies: ['strict'], createdAt: expect.any(String) }],
      configured: 0,
    });
    const onDisk = await readFile(join(h.dataDir, 'check-tokens.json'), 'utf8');
    expect(onDisk).not.toContain(token);
    expect(onDisk).toContain(createHash('sha256').update(token).digest('hex'));

    await h.restart();
    expect((await as(token, 'POST', '/policies/strict/check', check)).status).toBe(200);
    const everywhere = (await h.admin('POST', '/check-tokens', { name: 'ci-all' })).json();
    expect((await as(everywhere.token, 'POST', '/policies/relaxed/check', check)).status).toBe(200);

    expect((await h.admin('DELETE', `/check-tokens/${id}`)).status).toBe(204);
    expect((await as(token, 'POST', '/policies/strict/check', check)).status).toBe(401);
    expect((await h.admin('DELETE', `/check-tokens/${id}`)).status).toBe(404);
    await h.restart();
    expect((await as(token, 'POST', '/policies/strict/check', check)).status).toBe(401);
    expect((await as(everywhere.token, 'POST', '/policies/strict/check', check)).status).toBe(200);
  });

  it.each([
    [{}, /name: expected letters/],
    [{ name: '../etc' }, /name: expected letters/],
    [{ name: 'ci', policies: [] }, /policies: expected a non-empty array/],
    [{ name: 'ci', policies: ['nope'] }, /policies\[0\]: no policy "nope"/],
    [{ name: 'ci', policies: [42] }, /policies\[0\]: expected a policy id/],
    [{ name: 'ci', scope: 'all' }, /scope: unknown field/],
    [[], /expected \{"name"/],
  ])('refuses %j with a 400 that says why', async (body, message) => {
    h = await startProxyHarness({ packuments: packuments(), filePolicies: [{ id: 'strict' }] });
    const res = await h.admin('POST', '/check-tokens', body);
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it('refuses a second token with the same name', async () => {
    h = await startProxyHarness({ packuments: packuments(), filePolicies: [{ id: 'strict' }] });
    expect((await h.admin('POST', '/check-tokens', { name: 'ci' })).status).toBe(201);
    const again = await h.admin('POST', '/check-tokens', { name: 'ci' });
    expect(again.status).toBe(400);
    expect(again.json().error).toMatch(/a token named "ci" exists/);
  });
});

describe('check-tokens.json', () => {
  const openTokens = async (dataDir: string) => {
    const store = await createEmbeddedStore({
      dataDir,
      now: () => NOW,
      audit: { maxEntries: 1_000, maxAgeDays: 0 },
    });
    await store.close();
    return createCheckTokens({ records: store.checkTokens, configured: [], now: () => NOW });
  };
  const hash = (token: string) => createHash('sha256').update(token).digest('hex');
  const stored = (overrides: Record<string, unknown> = {}) => ({
    id: '0123456789abcdef',
    name: 'ci-web',
    policies: ['strict'],
    createdAt: NOW.toISOString(),
    sha256: hash('lwc_web'),
    ...overrides,
  });
  const { policies: _, ...withoutPolicies } = stored();
  const { id: __, ...withoutId } = stored();

  it.each([
    ['tokens not an array', { version: 1, tokens: { a: stored() } }, /: expected \{"version": 1, "tokens"/],
    ['a null entry', { version: 1, tokens: [null] }, /tokens\[0\]: expected an object/],
    [
      'policies as a string',
      { version: 1, tokens: [stored({ policies: 'strict' })] },
      /tokens\[0\]\.policies/,
    ],
    ['policies missing', { version: 1, tokens: [withoutPolicies] }, /tokens\[0\]\.policies/],
    [
      'a policy id not a string',
      { version: 1, tokens: [stored({ policies: [{}] })] },
      /tokens\[0\]\.policies/,
    ],
    ['no id', { version: 1, tokens: [withoutId] }, /tokens\[0\]\.id: expected/],
    [
      'one id twice',
      { version: 1, tokens: [stored(), stored({ name: 'b', sha256: hash('lwc_b') })] },
      /tokens\[1\]\.id: "0123456789abcdef" is used/,
    ],
    [
      'one token twice',
      { version: 1, tokens: [stored(), stored({ id: 'fedcba9876543210', name: 'b' })] },
      /tokens\[1\]\.sha256: the same token/,
    ],
    ['a hash not hex', { version: 1, tokens: [stored({ sha256: 'A'.repeat(64) })] }, /tokens\[0\]\.sha256/],
  ])(
    'refuses to start on %s, naming the file and field, and leaves the file as it was',
    async (_case, content, message) => {
      const dir = await mkdtemp(join(tmpdir(), 'lockwarden-check-tokens-'));
      try {
        const file = join(dir, 'check-tokens.json');
        const text = JSON.stringify(content);
        await writeFile(file, text);
        const opening = openTokens(dir);
        await expect(opening).rejects.toMatchObject({
          code: 'ECONFIG',
          message: expect.stringContaining(file),
        });
        await expect(opening).rejects.toThrow(message);
        expect(await readFile(file, 'utf8')).toBe(text);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('accepts the tokens of a well-formed file for the policies they name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockwarden-check-tokens-'));
    try {
      const file = join(dir, 'check-tokens.json');
      const all = stored({ id: 'fedcba9876543210', name: 'ci-all', policies: null, sha256: hash('lwc_all') });
      await writeFile(file, JSON.stringify({ version: 1, tokens: [stored(), all] }));
      const tokens = await openTokens(dir);
      expect(await tokens.grantOf('lwc_web')).toEqual({ name: 'ci-web', policies: ['strict'] });
      expect(await tokens.grantOf('lwc_all')).toEqual({ name: 'ci-all', policies: null });
      expect(await tokens.grantOf('lwc_other')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves no trace of an issue the disk refused, and lets a refused revocation be retried', async () => {
    h = await startProxyHarness({ packuments: packuments(), filePolicies: [{ id: 'strict' }] });
    const check = (token: string) =>
      h.request({
        method: 'POST',
        url: '/-/lockwarden/v1/policies/strict/check',
        headers: { authorization: `Bearer ${token}` },
        body: { packages: [{ name: 'left-pad', version: '1.0.0' }] },
      });
    const { token, id } = (await h.admin('POST', '/check-tokens', { name: 'ci-web' })).json();
    // A directory where the file goes: every write's rename fails.
    const file = join(h.dataDir, 'check-tokens.json');
    await rm(file);
    await mkdir(file);

    expect((await h.admin('POST', '/check-tokens', { name: 'ci-api' })).status).toBe(500);
    expect(
      (await h.admin('GET', '/check-tokens')).json().tokens.map((t: { name: string }) => t.name),
    ).toEqual(['ci-web']);

    expect((await h.admin('DELETE', `/check-tokens/${id}`)).status).toBe(500);
    expect((await check(token)).status).toBe(401);
    expect((await h.admin('GET', '/check-tokens')).json().tokens.map((t: { id: string }) => t.id)).toEqual([
      id,
    ]);

    await rmdir(file);
    expect((await h.admin('DELETE', `/check-tokens/${id}`)).status).toBe(204);
    expect((await h.admin('POST', '/check-tokens', { name: 'ci-api' })).status).toBe(201);
    await h.restart();
    expect((await check(token)).status).toBe(401);
    expect(
      (await h.admin('GET', '/check-tokens')).json().tokens.map((t: { name: string }) => t.name),
    ).toEqual(['ci-api']);
  });
});

describe('check API', () => {
  it("returns the engine's verdicts and logs findings with source ci", async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7, typosquatting: true }],
    });
    const res = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies/strict/check?label=pipeline-7',
      headers: { authorization: 'Bearer test-admin-token', 'user-agent': 'lockwarden-action/0.1.0' },
      body: {
        packages: [
          { name: 'left-pad', version: '1.0.0' },
          { name: 'left-pad', version: '1.2.0' },
          { name: 'expres', version: '1.0.0' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.policy).toEqual({
      id: 'strict',
      name: 'strict',
      action: 'block',
      onUnavailable: 'alert',
      revision: 1,
      lockfileSource: true,
      registries: [],
    });
    expect(
      body.verdicts.map((v: { name: string; version: string; decision: string }) => [
        v.name,
        v.version,
        v.decision,
      ]),
    ).toEqual([
      ['left-pad', '1.0.0', 'allow'],
      ['left-pad', '1.2.0', 'block'],
      ['expres', '1.0.0', 'block'],
    ]);
    expect(body.verdicts[1].findings[0]).toMatchObject({
      rule: 'cooling-off',
      outcome: 'block',
      effect: 'block',
    });
    const logged = (await h.service.audit.query({ source: 'ci' })).entries;
    // Newest first; a pinned version of a name the registry does not know is not on the registry.
    expect(logged.map((e) => [e.package, e.version, e.rule, e.outcome, e.label, e.userAgent])).toEqual([
      ['expres', '1.0.0', 'not-on-registry', 'blocked', 'pipeline-7', 'lockwarden-action/0.1.0'],
      ['expres', '1.0.0', 'typosquatting', 'blocked', 'pipeline-7', 'lockwarden-action/0.1.0'],
      ['left-pad', '1.2.0', 'cooling-off', 'blocked', 'pipeline-7', 'lockwarden-action/0.1.0'],
    ]);
  });

  it('rejects malformed check requests naming each bad entry', async () => {
    h = await startProxyHarness();
    const res = await h.admin('POST', '/policies/default/check', {
      packages: [
        { name: '../etc/passwd', version: '1.0.0' },
        { version: '1.0.0' },
        { name: 'ok', version: 7 },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json().problems).toEqual([
      'packages[0].name: "../etc/passwd" is not a valid npm package name: name starts with "." or "_"',
      'packages[1].name: expected a package name',
      'packages[2].version: expected a version string or null',
    ]);
    expect((await h.admin('POST', '/policies/default/check', { pkgs: [] })).status).toBe(400);
    expect((await h.admin('POST', '/policies/nope/check', { packages: [] })).status).toBe(404);
    const updates = await h.admin('POST', '/policies/default/check', {
      packages: [{ name: 'left-pad', version: '1.2.0' }],
      updates: [{ name: '../x', from: '1.0.0', to: '1.2.0/../..' }],
    });
    expect(updates.status).toBe(400);
    expect(updates.json().problems).toEqual([
      'updates[0].name: name starts with "." or "_"',
      'updates[0].to: version contains characters a version cannot have',
    ]);
    const tooMany = await h.admin('POST', '/policies/default/check', {
      packages: [],
      updates: [{ name: 'left-pad', from: '1.0.0', to: '1.2.0' }],
    });
    expect(tooMany.status).toBe(413);
  });
});

describe('audit log queries', () => {
  it('filters by policy, label, package, rule, outcome and time, newest first, with pagination', async () => {
    h = await startProxyHarness();
    const base = { source: 'registry' as const, reason: 'r', userAgent: null };
    h.service.audit.record([
      {
        ...base,
        policy: 'a',
        label: null,
        package: 'p1',
        version: '1.0.0',
        rule: 'cooling-off',
        outcome: 'hidden',
      },
      {
        ...base,
        policy: 'a',
        label: 'img',
        package: 'p2',
        version: '1.0.0',
        rule: 'typosquatting',
        outcome: 'blocked',
      },
    ]);
    h.clock.advance(3_600_000);
    h.service.audit.record([
      {
        ...base,
        policy: 'b',
        label: 'img',
        package: 'p1',
        version: '2.0.0',
        rule: 'cooling-off',
        outcome: 'alert',
      },
      {
        ...base,
        policy: 'a',
        label: 'img',
        package: 'p1',
        version: '3.0.0',
        rule: 'cooling-off',
        outcome: 'blocked',
      },
    ]);
    const q = async (query: string) => (await h.admin('GET', `/audit${query}`)).json();
    expect((await q('')).entries.map((e: { id: number }) => e.id)).toEqual([4, 3, 2, 1]);
    expect((await q('?policy=a&label=img')).entries.map((e: { id: number }) => e.id)).toEqual([4, 2]);
    expect(
      (await q('?package=p1&rule=cooling-off&outcome=blocked')).entries.map((e: { id: number }) => e.id),
    ).toEqual([4]);
    const later = new Date(NOW.getTime() + 1_000).toISOString();
    expect((await q(`?since=${later}`)).entries.map((e: { id: number }) => e.id)).toEqual([4, 3]);
    expect((await q(`?until=${later}`)).entries.map((e: { id: number }) => e.id)).toEqual([2, 1]);
    const page1 = await q('?limit=3');
    expect(page1.entries.map((e: { id: number }) => e.id)).toEqual([4, 3, 2]);
    expect(page1.nextCursor).toBe(2);
    const page2 = await q(`?limit=3&cursor=${page1.nextCursor}`);
    expect(page2).toEqual({ entries: [expect.objectContaining({ id: 1 })], nextCursor: null });

    const bad = await h.admin('GET', '/audit?outcome=maybe');
    expect(bad.status).toBe(400);
    expect(bad.json().error).toBe(
      'query parameter "outcome": expected one of blocked, hidden, alert, got "maybe"',
    );
    expect((await h.admin('GET', '/audit?limit=0')).status).toBe(400);
    expect((await h.admin('GET', '/audit?since=yesterday')).status).toBe(400);
  });

  it('keeps the audit log across a restart', async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    });
    expect((await h.request({ url: '/strict/left-pad/-/left-pad-1.2.0.tgz' })).status).toBe(403);
    await h.restart();
    const entries = (await h.admin('GET', '/audit')).json().entries;
    expect(entries).toEqual([
      expect.objectContaining({ package: 'left-pad', version: '1.2.0', outcome: 'blocked' }),
    ]);
  });
});

describe('check API dry run', () => {
  it('evaluates under the policy with action alert and logs alerts, not blocks', async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    });
    const post = (body: object) =>
      h.request({
        method: 'POST',
        url: '/-/lockwarden/v1/policies/strict/check',
        headers: { authorization: 'Bearer test-admin-token' },
        body,
      });
    const res = await post({ packages: [{ name: 'left-pad', version: '1.2.0' }], mode: 'alert' });
    expect(res.status).toBe(200);
    expect(res.json().policy.action).toBe('alert');
    expect(res.json().verdicts[0].decision).toBe('alert');
    const audit = await h.request({
      method: 'GET',
      url: '/-/lockwarden/v1/audit',
      headers: { authorization: 'Bearer test-admin-token' },
    });
    expect(audit.json().entries.map((e: { outcome: string }) => e.outcome)).toEqual(['alert']);
    const bad = await post({ packages: [], mode: 'block' });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toBe('request body: "mode" may only be "alert" (a dry run), got "block"');
  });
});

describe('policies the disk refused', () => {
  it('are neither served nor kept: the change is visible only once stored, and a retry succeeds', async () => {
    h = await startProxyHarness({ packuments: packuments() });
    const file = join(h.dataDir, 'policies.json');
    await rm(file, { force: true });
    // A directory where the file goes: every write's rename fails.
    await mkdir(file);
    const body = { id: 'team', coolingOffDays: 3 };
    expect((await h.admin('POST', '/policies', body)).status).toBe(500);
    expect((await h.admin('GET', '/policies/team')).status).toBe(404);
    expect((await h.request({ url: '/team/left-pad' })).status).toBe(404);
    expect((await h.admin('DELETE', '/policies/default')).status).toBe(500);
    expect((await h.admin('GET', '/policies/default')).status).toBe(200);

    await rmdir(file);
    expect((await h.admin('POST', '/policies', body)).status).toBe(201);
    expect((await h.request({ url: '/team/left-pad' })).status).toBe(200);
    await h.restart();
    expect((await h.admin('GET', '/policies/team')).status).toBe(200);
  });
});
