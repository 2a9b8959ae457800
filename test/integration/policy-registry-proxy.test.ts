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
    proxy = await startPolicyRegistryProxy({ cache, sources });
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
});
