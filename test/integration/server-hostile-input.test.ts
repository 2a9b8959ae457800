// Hostile requests and documents: a clear 4xx, never a crash, never a request to another host.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub } from '../helpers/fake-github.js';
import type { FullPackument } from '../helpers/make-packument.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

let h: ProxyHarness;
afterEach(async () => {
  await h?.close();
});

const start = (packuments: FullPackument[] = []) =>
  startProxyHarness({ packuments, filePolicies: [{ id: 'strict', coolingOffDays: 7 }] });

describe('hostile request paths', () => {
  const cases: Array<{ url: string; status: number; error: RegExp }> = [
    { url: '/strict/..%2f..%2fetc%2fpasswd', status: 400, error: /encoded "\/"/ },
    { url: '/strict/%2e%2e/x', status: 400, error: /empty, "\." or "\.\." segment/ },
    { url: '/strict/a%2fb', status: 400, error: /encoded "\/"/ },
    { url: '/strict/@scope%2f..%2fx', status: 400, error: /encoded "\/"/ },
    { url: '/strict/@scope%2f..', status: 400, error: /not a valid npm package name/ },
    { url: `/strict/${'a'.repeat(215)}`, status: 400, error: /longer than 214 characters/ },
    { url: `/strict/${'a'.repeat(1100)}`, status: 400, error: /path is longer than 1024 characters/ },
    { url: '/strict/%E0%A4%A', status: 400, error: /not valid percent-encoding/ },
    { url: '/strict/a%5Cb', status: 400, error: /backslash or a control character/ },
    { url: '/strict/left%00pad', status: 400, error: /backslash or a control character/ },
    { url: '/strict/_private', status: 400, error: /starts with "\." or "_"/ },
    { url: '/strict/left-pad/-/..%2f..%2fsecret.tgz', status: 400, error: /encoded "\/"/ },
    { url: '/strict/a/b/c/d/e', status: 400, error: /not a registry path lockwarden serves/ },
    { url: '/STRICT/left-pad', status: 404, error: /is not a policy id/ },
    { url: '/-/whatever', status: 404, error: /is not a lockwarden endpoint/ },
    { url: '/', status: 404, error: /no policy in the path/ },
  ];
  it.each(cases)('$url → $status', async ({ url, status, error }) => {
    h = await start();
    const res = await h.request({ url });
    expect(res.status).toBe(status);
    expect(res.json().error).toMatch(error);
    expect(h.registry.requests).toEqual([]);
  });

  it('refuses Accept headers it cannot serve with 406, and a hostile Host header with 400', async () => {
    h = await start([
      makePackument({
        name: 'left-pad',
        versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(30)) }],
      }),
    ]);
    const html = await h.request({ url: '/strict/left-pad', headers: { accept: 'text/html' } });
    expect(html.status).toBe(406);
    expect(html.json().error).toMatch(/answers application\/json or application\/vnd\.npm\.install-v1\+json/);
    const garbage = await h.request({ url: '/strict/left-pad', headers: { accept: ';;;,,,q=abc' } });
    expect(garbage.status).toBe(406);
    const wildcard = await h.request({ url: '/strict/left-pad', headers: { accept: '*/*' } });
    expect(wildcard.status).toBe(200);
    const host = await h.request({ url: '/strict/left-pad', headers: { host: 'evil.test/"><script>' } });
    expect(host.status).toBe(400);
    expect(host.json().error).toMatch(/Host header .* is not a host name/);
  });
});

describe('hostile documents', () => {
  it('serves a packument with __proto__ and constructor versions without polluting anything', async () => {
    const doc = makePackument({
      name: 'weird',
      versions: [
        { version: '1.0.0', publishedAt: new Date(daysAgo(30)) },
        { version: 'constructor', publishedAt: new Date(daysAgo(1)) },
      ],
    });
    // An own `__proto__` key, as JSON.parse produces it from a hostile upstream document.
    const proto = { ...doc.versions['1.0.0'], version: '__proto__', polluted: true };
    Object.defineProperty(doc.versions, '__proto__', {
      value: proto,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    Object.defineProperty(doc.time, '__proto__', {
      value: daysAgo(30),
      enumerable: true,
      configurable: true,
      writable: true,
    });
    Object.defineProperty(doc['dist-tags'], '__proto__', {
      value: 'constructor',
      enumerable: true,
      configurable: true,
      writable: true,
    });
    h = await start([doc]);
    const res = await h.request({ url: '/strict/weird' });
    expect(res.status).toBe(200);
    const served = JSON.parse(res.text);
    expect(Object.keys(served.versions).sort()).toEqual(['1.0.0', '__proto__']);
    expect(Object.hasOwn(served.versions, 'constructor')).toBe(false);
    expect(Object.keys(served.time)).not.toContain('constructor');
    // The tag on the hidden `constructor` version has no stable version of its own major below it.
    expect(Object.hasOwn(served['dist-tags'], '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await h.request({ url: '/strict/weird/-/weird-constructor.tgz' })).status).toBe(403);
    expect((await h.request({ url: '/strict/weird/-/weird-__proto__.tgz' })).status).toBe(200);
  });

  it('never fetches a tarball from a host other than the upstream', async () => {
    const doc = makePackument({
      name: 'elsewhere',
      versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(30)) }],
      registryUrl: 'http://127.0.0.2:9/',
    });
    h = await startProxyHarness({
      packuments: [doc],
      keepTarballUrls: true,
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    });
    const packument = await h.request({ url: '/strict/elsewhere' });
    expect(packument.status, packument.text).toBe(200);
    expect(packument.json().versions['1.0.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/strict/elsewhere/-/elsewhere-1.0.0.tgz',
    );
    const res = await h.request({ url: '/strict/elsewhere/-/elsewhere-1.0.0.tgz' });
    expect(res.status).toBe(502);
    expect(res.json().error).toBe(
      'elsewhere@1.0.0: the upstream document points its tarball at http://127.0.0.2:9, not at the upstream registry; allow that origin with --tarball-origin',
    );
  });
});

describe('documents about another package', () => {
  const leftPad = () =>
    makePackument({ name: 'left-pad', versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(30)) }] });
  const express = () =>
    makePackument({ name: 'express', versions: [{ version: '4.0.0', publishedAt: new Date(daysAgo(300)) }] });

  it('treats a document whose name is not the requested one as an upstream failure (502)', async () => {
    h = await startProxyHarness({
      packuments: [express()],
      filePolicies: [{ id: 'strict', coolingOffDays: 7, typosquatting: true }],
    });
    // The upstream answers a request for the typosquat with the popular package's document.
    h.registry.fault({
      kind: 'garbage',
      body: JSON.stringify(express()),
      match: (r) => r.path === '/expres',
    });
    const res = await h.request({ url: '/strict/expres' });
    expect(res.status).toBe(502);
    expect(res.json().error).toBe(
      'upstream registry failed for expres: it answered with the document of "express"; lockwarden serves no unchecked documents',
    );
    const tarball = await h.request({ url: '/strict/expres/-/expres-4.0.0.tgz' });
    expect(tarball.status).toBe(502);
    expect(h.registry.requests.some((r) => r.path.endsWith('.tgz'))).toBe(false);
  });

  it('keeps serving the last good copy, saying why, when a later document names another package', async () => {
    h = await start([leftPad()]);
    const good = await h.request({ url: '/strict/left-pad' });
    expect(good.status).toBe(200);
    const other = { ...leftPad(), name: 'right-pad', _id: 'right-pad' };
    h.registry.fault({ kind: 'garbage', body: JSON.stringify(other) });
    h.clock.advance(86_400_000 / 2);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(200);
    expect(String(res.headers['x-lockwarden-stale'])).toMatch(
      /^upstream registry failed for left-pad: it answered with the document of "right-pad"; serving the copy checked at /,
    );
    expect(res.json().versions['1.0.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/strict/left-pad/-/left-pad-1.0.0.tgz',
    );
  });
});

describe('packuments naming many repositories', () => {
  it('looks up the tags of at most 5 distinct repositories; the other versions say why they have no tag fact', async () => {
    const count = 12;
    const repos: Record<string, { tags: string[] }> = {};
    for (let i = 0; i < count; i++) repos[`owner/repo-${i}`] = { tags: [`v1.0.${i}`] };
    const github = await startFakeGitHub({ repos, requireToken: 'gh-test-token' });
    try {
      const doc = makePackument({
        name: 'many-repos',
        versions: Array.from({ length: count }, (_, i) => ({
          version: `1.0.${i}`,
          publishedAt: new Date(daysAgo(30 - i)),
          repository: `github:owner/repo-${i}`,
        })),
      });
      h = await startProxyHarness({
        packuments: [doc],
        filePolicies: [{ id: 'tags', suspiciousVersion: true, onUnavailable: 'block' }],
        github: { apiUrl: github.url, token: 'gh-test-token' },
      });
      const res = await h.request({ url: '/tags/many-repos' });
      expect(res.status).toBe(200);
      // Newest versions first: their repositories are the ones looked up.
      expect(Object.keys(res.json().versions)).toEqual(['1.0.7', '1.0.8', '1.0.9', '1.0.10', '1.0.11']);
      const asked = new Set(github.requests.map((r) => /repos\/owner\/(repo-\d+)\//.exec(r.path)?.[1]));
      expect([...asked].sort()).toEqual(['repo-10', 'repo-11', 'repo-7', 'repo-8', 'repo-9']);
      const hidden = await h.request({ url: '/tags/many-repos/-/many-repos-1.0.0.tgz' });
      expect(hidden.status).toBe(403);
      expect(hidden.json().error).toMatch(
        /too many distinct repositories in this packument \(12; tags are looked up for 5\)/,
      );
    } finally {
      await github.close();
    }
  });
});
