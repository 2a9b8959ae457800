// The console's server side: its files under a strict CSP, sign-in with the admin token only,
// the session cookie (HttpOnly, SameSite=Strict, Secure behind https), CSRF-safe writes, sign-out
// that holds even for a copied cookie, and the browser redirect from the service's root.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { javascriptSize, loadConsoleAssets } from '../../server/console-assets.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../server/console-sessions.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { ADMIN_TOKEN, type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

let h: ProxyHarness;
afterEach(async () => {
  const running: ProxyHarness | undefined = h;
  h = undefined as unknown as ProxyHarness;
  await running?.close();
});

const CONSOLE = '/-/lockwarden/console';

async function signIn(harness: ProxyHarness, token = ADMIN_TOKEN) {
  const res = await harness.request({
    method: 'POST',
    url: `${CONSOLE}/session`,
    headers: { 'content-type': 'application/json' },
    body: { token },
  });
  const setCookie = [res.headers['set-cookie'] ?? []].flat().map(String);
  const cookie = setCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return {
    res,
    setCookie: cookie,
    cookie: cookie?.split(';')[0],
    csrf: res.status === 201 ? res.json().csrfToken : undefined,
  };
}

describe('console pages and files', () => {
  it('sends a browser opening / to the console, and leaves clients alone', async () => {
    h = await startProxyHarness();
    const browser = await h.request({
      url: '/',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe(`${CONSOLE}/`);
    const npm = await h.request({ url: '/', headers: { accept: 'application/json, */*' } });
    expect(npm.status).not.toBe(302);
    const bare = await h.request({ url: CONSOLE });
    expect(bare.headers.location).toBe(`${CONSOLE}/`);
  });

  it('answers every console page with the shell under a CSP without unsafe-inline, whose hash covers the import map', async () => {
    h = await startProxyHarness();
    for (const path of ['/', '/policies', '/audit', '/policies/new']) {
      const res = await h.request({ url: `${CONSOLE}${path}` });
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(res.text)![1]!;
      const hash = createHash('sha256').update(importMap).digest('base64');
      expect(csp).toContain(`'sha256-${hash}'`);
      // No other inline script or style: everything else is a file.
      expect(res.text.match(/<script(?![^>]*\bsrc=)(?![^>]*type="importmap")/g)).toBeNull();
      expect(res.text).not.toMatch(/<style|style=/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves its modules and the libraries from the package, gzipped, with ETags', async () => {
    h = await startProxyHarness();
    const html = (await h.request({ url: `${CONSOLE}/` })).text;
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]!).imports;
    for (const url of [
      ...Object.values(map as Record<string, string>),
      `${CONSOLE}/assets/app.js`,
      `${CONSOLE}/assets/console.css`,
    ]) {
      const res = await h.request({ url, headers: { 'accept-encoding': 'gzip' } });
      expect(res.status, url).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.text.length).toBeGreaterThan(100);
      const again = await h.request({ url, headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.status).toBe(304);
    }
    expect((await h.request({ url: `${CONSOLE}/assets/nope.js` })).status).toBe(404);
    // Small enough to read: the README states the size; this keeps it from growing unnoticed.
    const size = javascriptSize(loadConsoleAssets());
    expect(size.gzipBytes).toBeLessThan(40_000);
    expect((await h.request({ url: `${CONSOLE}/assets/../../package.json` })).status).not.toBe(200);
  });
});

describe('console sign-in', () => {
  it('takes the admin token only: wrong tokens get 401, check tokens 403', async () => {
    h = await startProxyHarness({ app: { checkTokens: ['lwc_ci-only-token'] } });
    const wrong = await signIn(h, 'nope');
    expect(wrong.res.status).toBe(401);
    expect(wrong.setCookie).toBeUndefined();
    const check = await signIn(h, 'lwc_ci-only-token');
    expect(check.res.status).toBe(403);
    expect(check.res.json().error).toMatch(/check token/);
    expect(check.setCookie).toBeUndefined();
    const ok = await signIn(h);
    expect(ok.res.status).toBe(201);
    expect(ok.setCookie).toMatch(/; path=\/-\/lockwarden\//);
    expect(ok.setCookie).toMatch(/; httponly/i);
    expect(ok.setCookie).toMatch(/; samesite=strict/i);
    expect(ok.setCookie).not.toMatch(/; secure/i);
    expect(ok.setCookie).not.toContain(ADMIN_TOKEN);
  });

  it('marks the cookie Secure behind https', async () => {
    h = await startProxyHarness({ app: { trustProxy: true } });
    const res = await h.request({
      method: 'POST',
      url: `${CONSOLE}/session`,
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: { token: ADMIN_TOKEN },
    });
    expect(res.status).toBe(201);
    expect(String([res.headers['set-cookie']].flat()[0])).toMatch(/; secure/i);
  });

  it('takes a sign-in from the --public-url origin behind a TLS proxy it does not trust', async () => {
    h = await startProxyHarness({ app: { publicUrl: 'https://lw.example' } });
    const res = await h.request({
      method: 'POST',
      url: `${CONSOLE}/session`,
      headers: { 'content-type': 'application/json', origin: 'https://lw.example' },
      body: { token: ADMIN_TOKEN },
    });
    expect(res.status).toBe(201);
    expect(String([res.headers['set-cookie']].flat()[0])).toMatch(/; secure/i);
    const other = await h.request({
      method: 'POST',
      url: `${CONSOLE}/session`,
      headers: { 'content-type': 'application/json', origin: 'https://lw.example.evil' },
      body: { token: ADMIN_TOKEN },
    });
    expect(other.status).toBe(403);
  });

  it('refuses a sign-in posted from another origin', async () => {
    h = await startProxyHarness();
    const res = await h.request({
      method: 'POST',
      url: `${CONSOLE}/session`,
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: { token: ADMIN_TOKEN },
    });
    expect(res.status).toBe(403);
  });

  it('lets a session read the admin API, but writes need the CSRF header', async () => {
    h = await startProxyHarness();
    const { cookie, csrf } = await signIn(h);
    const list = await h.request({ url: '/-/lockwarden/v1/policies', headers: { cookie: cookie! } });
    expect(list.status).toBe(200);
    const body = { id: 'team', coolingOffDays: 3 };
    const forged = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies',
      headers: { cookie: cookie!, 'content-type': 'application/json' },
      body,
    });
    expect(forged.status).toBe(403);
    expect(forged.json().error).toMatch(new RegExp(CSRF_HEADER));
    const wrongCsrf = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies',
      headers: { cookie: cookie!, 'content-type': 'application/json', [CSRF_HEADER]: 'x'.repeat(43) },
      body,
    });
    expect(wrongCsrf.status).toBe(403);
    const ok = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies',
      headers: { cookie: cookie!, 'content-type': 'application/json', [CSRF_HEADER]: csrf },
      body,
    });
    expect(ok.status).toBe(201);
    const state = await h.request({ url: `${CONSOLE}/session`, headers: { cookie: cookie! } });
    expect(state.json()).toMatchObject({ signedIn: true, csrfToken: csrf });
  });

  it('signs out for good: the same cookie is refused afterwards', async () => {
    h = await startProxyHarness();
    const { cookie, csrf } = await signIn(h);
    const out = await h.request({
      method: 'DELETE',
      url: `${CONSOLE}/session`,
      headers: { cookie: cookie!, [CSRF_HEADER]: csrf },
    });
    expect(out.status).toBe(204);
    const replay = await h.request({ url: '/-/lockwarden/v1/policies', headers: { cookie: cookie! } });
    expect(replay.status).toBe(401);
    expect((await h.request({ url: `${CONSOLE}/session`, headers: { cookie: cookie! } })).json()).toEqual({
      signedIn: false,
    });
  });

  it('ends sessions when the admin token changes, and after a tampered cookie', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lockwarden-console-'));
    h = await startProxyHarness({ dataDir });
    const { cookie } = await signIn(h);
    const [name, value] = cookie!.split('=') as [string, string];
    const tampered = `${name}=${value.slice(0, 23)}9${value.slice(24)}`;
    expect(
      (await h.request({ url: '/-/lockwarden/v1/policies', headers: { cookie: tampered } })).status,
    ).toBe(401);
    await h.restart();
    expect((await h.request({ url: '/-/lockwarden/v1/policies', headers: { cookie: cookie! } })).status).toBe(
      200,
    );
    await h.close();
    h = await startProxyHarness({ dataDir, app: { adminToken: 'another-token' } });
    expect((await h.request({ url: '/-/lockwarden/v1/policies', headers: { cookie: cookie! } })).status).toBe(
      401,
    );
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('conditional policy edits', () => {
  it('refuses an edit based on an older revision (If-Match), so two editors do not undo each other', async () => {
    h = await startProxyHarness();
    expect((await h.admin('POST', '/policies', { id: 'team', coolingOffDays: 3 })).status).toBe(201);
    const put = (ifMatch: string, days: number) =>
      h.request({
        method: 'PUT',
        url: '/-/lockwarden/v1/policies/team',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'if-match': ifMatch },
        body: { coolingOffDays: days },
      });
    expect((await put('"1"', 5)).json().revision).toBe(2);
    const stale = await put('"1"', 9);
    expect(stale.status).toBe(409);
    expect(stale.json().error).toMatch(/changed since revision 1 was read \(it is at revision 2\)/);
    expect((await put('2', 9)).status).toBe(200);
    expect((await put('soon', 9)).status).toBe(400);
    expect((await h.admin('GET', '/policies/team')).json().policy.coolingOffDays).toBe(9);
  });
});

describe('try a package', () => {
  it('answers what an install through the policy gets, from the same engine', async () => {
    h = await startProxyHarness({
      packuments: [
        makePackument({
          name: 'left-pad',
          versions: [
            { version: '1.0.0', publishedAt: new Date(daysAgo(40)) },
            { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
          ],
        }),
      ],
      filePolicies: [{ id: 'strict', coolingOffDays: 7, typosquatting: true }],
    });
    const { cookie } = await signIn(h);
    const tryIt = async (spec: string) =>
      (
        await h.request({
          url: `/-/lockwarden/v1/policies/strict/try?package=${encodeURIComponent(spec)}`,
          headers: { cookie: cookie! },
        })
      ).json();
    expect(await tryIt('left-pad')).toMatchObject({
      outcome: 'allowed',
      status: 200,
      version: '1.0.0',
      hiddenVersions: 1,
    });
    const young = await tryIt('left-pad@1.2.0');
    expect(young).toMatchObject({ outcome: 'blocked', status: 403, version: '1.2.0' });
    expect(young.message).toMatch(/cooling-off 7 days.*blocked by policy strict/);
    expect(young.findings[0].hint).toMatch(/allow/);
    expect(await tryIt('left-pad@^1.1.0')).toMatchObject({ outcome: 'blocked', status: 404 });
    const squat = await tryIt('expres');
    expect(squat).toMatchObject({ outcome: 'blocked', status: 403, version: null });
    expect(squat.message).toMatch(/looks like express/);
    expect(await tryIt('left-pad@9.9.9')).toMatchObject({ outcome: 'not-found', status: 404 });
    const bad = await h.request({
      url: '/-/lockwarden/v1/policies/strict/try?package=git%2Bssh%3A%2F%2Fx',
      headers: { cookie: cookie! },
    });
    expect(bad.status).toBe(400);
    // A preview: nothing lands in the audit log.
    expect((await h.admin('GET', '/audit')).json().entries).toEqual([]);
  });
});
