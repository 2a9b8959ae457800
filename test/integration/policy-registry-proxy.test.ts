// The loopback registry `lockwarden update` runs pnpm, yarn or bun against: it answers with the
// user's registry credentials behind it, so only the URL it hands the package manager works.
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyPackumentCache } from '../../src/engine/policy-packument-cache.js';
import {
  type PolicyRegistryProxy,
  startPolicyRegistryProxy,
} from '../../src/engine/policy-registry-proxy.js';
import type { Packument, Sources } from '../../src/sources/types.js';

const UPSTREAM = 'http://127.0.0.1:9/';
const packument: Packument = {
  name: 'left-pad',
  'dist-tags': { latest: '1.3.0' },
  versions: {
    '1.3.0': {
      name: 'left-pad',
      version: '1.3.0',
      dist: { tarball: `${UPSTREAM}left-pad/-/left-pad-1.3.0.tgz` },
    },
  },
} as unknown as Packument;

let proxy: PolicyRegistryProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('policy registry proxy', () => {
  it('answers only under the URL it hands out, not every local process on 127.0.0.1', async () => {
    const cache = { decide: async () => ({ filtered: packument }) } as unknown as PolicyPackumentCache;
    const sources = {
      registry: {
        url: UPSTREAM,
        getTarball: async () => ({ status: 'ok', bytes: Buffer.from('private tarball') }),
      },
    } as unknown as Sources;
    proxy = await startPolicyRegistryProxy({
      cache,
      sources,
      upstreams: { default: UPSTREAM, scopes: new Map() },
    });
    const origin = new URL(proxy.url).origin;

    const doc = await fetch(`${proxy.url}left-pad`);
    expect(doc.status).toBe(200);
    const tarball = ((await doc.json()) as Packument).versions['1.3.0']?.dist?.tarball as string;
    expect(tarball.startsWith(proxy.url)).toBe(true);
    expect(await (await fetch(tarball)).text()).toBe('private tarball');
    expect(proxy.toUpstream(`resolved "${tarball}"`)).toBe(
      `resolved "${UPSTREAM}left-pad/-/left-pad-1.3.0.tgz"`,
    );

    // Another process that finds the port gets nothing fetched with the user's credentials.
    for (const path of ['/left-pad', '/left-pad/-/left-pad-1.3.0.tgz', '/left-pad/1.3.0']) {
      expect((await fetch(`${origin}${path}`)).status, path).toBe(404);
    }
  });

  it('gives each scoped registry its own URL, serves a package only at its registry’s, and maps each back', async () => {
    const CORP = 'http://127.0.0.1:8/npm/corp/';
    const scoped = {
      name: '@corp/lib',
      'dist-tags': { latest: '2.1.0' },
      versions: {
        '2.1.0': {
          name: '@corp/lib',
          version: '2.1.0',
          dist: { tarball: `${CORP}@corp/lib/-/lib-2.1.0.tgz` },
        },
      },
    } as unknown as Packument;
    const docs: Record<string, Packument> = { 'left-pad': packument, '@corp/lib': scoped };
    const cache = {
      decide: async (name: string) => ({ filtered: docs[name] }),
    } as unknown as PolicyPackumentCache;
    const asked: string[] = [];
    const sources = {
      registry: {
        url: UPSTREAM,
        getTarball: async (name: string, _v: string, o: { tarballUrl: string }) => {
          asked.push(`${name} ${o.tarballUrl}`);
          return { status: 'ok', bytes: Buffer.from(name) };
        },
      },
    } as unknown as Sources;
    proxy = await startPolicyRegistryProxy({
      cache,
      sources,
      upstreams: { default: UPSTREAM, scopes: new Map([['@corp', CORP]]) },
    });
    const corpUrl = proxy.scopeUrls.get('@corp')!;
    expect(corpUrl).not.toBe(proxy.url);
    expect(new URL(corpUrl).origin).toBe(new URL(proxy.url).origin);

    // The scope's package at the scope's URL only; an unscoped one at the default's only.
    expect((await fetch(`${proxy.url}@corp%2flib`)).status).toBe(404);
    expect((await fetch(`${corpUrl}left-pad`)).status).toBe(404);
    const doc = (await (await fetch(`${corpUrl}@corp%2flib`)).json()) as Packument;
    const tarball = doc.versions['2.1.0']?.dist?.tarball as string;
    expect(tarball).toBe(`${corpUrl}@corp/lib/-/lib-2.1.0.tgz`);
    expect(await (await fetch(tarball)).text()).toBe('@corp/lib');
    expect(asked).toEqual([`@corp/lib ${CORP}@corp/lib/-/lib-2.1.0.tgz`]);

    // A lockfile names the registry (with or without its slash) or the tarball: all go back.
    const text = `"${tarball}" "${corpUrl}" "${corpUrl.replace(/\/$/, '')}" "${proxy.url}left-pad/-/x.tgz"`;
    expect(proxy.toUpstream(text)).toBe(
      `"${CORP}@corp/lib/-/lib-2.1.0.tgz" "${CORP}" "${CORP.replace(/\/$/, '')}" "${UPSTREAM}left-pad/-/x.tgz"`,
    );
  });
});
