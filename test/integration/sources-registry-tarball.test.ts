// RegistrySource.getTarball: bytes only from the configured registry (credentials never leave it),
// integrity checked, size-limited through the shared HTTP client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/sources/http-client.js';
import { createRegistrySource } from '../../src/sources/registry-source.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';

const doc = makePackument({
  name: '@acme/lib',
  versions: [{ version: '1.0.0', publishedAt: new Date('2026-01-01T00:00:00Z') }],
});
let registry: FakeRegistry;
let other: FakeRegistry;

beforeAll(async () => {
  registry = await startFakeRegistry({ packuments: [doc] });
  other = await startFakeRegistry({ packuments: [doc] });
});
afterAll(async () => {
  await Promise.all([registry.close(), other.close()]);
});

describe('getTarball', () => {
  const integrity = doc.versions['1.0.0']!.dist!.integrity as string;

  it('fetches from the registry, with its token, and checks the integrity', async () => {
    const source = createRegistrySource({
      url: registry.url,
      token: 'secret-token',
      http: createHttpClient(),
    });
    const res = await source.getTarball!('@acme/lib', '1.0.0', { integrity, maxBytes: 1e6 });
    expect(res.status).toBe('ok');
    const req = registry.requests.at(-1)!;
    expect(req.path).toBe('/@acme/lib/-/lib-1.0.0.tgz');
    expect(req.headers.authorization).toBe('Bearer secret-token');
  });

  it('never follows a dist.tarball to another host: the registry path is used instead', async () => {
    const source = createRegistrySource({
      url: registry.url,
      token: 'secret-token',
      http: createHttpClient(),
    });
    const before = other.requests.length;
    const res = await source.getTarball!('@acme/lib', '1.0.0', {
      tarballUrl: `${other.url}@acme/lib/-/lib-1.0.0.tgz`,
      integrity,
      maxBytes: 1e6,
    });
    expect(res.status).toBe('ok');
    expect(other.requests.length).toBe(before);
  });

  it('refuses bytes that do not match the integrity', async () => {
    const source = createRegistrySource({ url: registry.url, http: createHttpClient() });
    const wrong = `sha512-${Buffer.alloc(64).toString('base64')}`;
    const res = await source.getTarball!('@acme/lib', '1.0.0', { integrity: wrong, maxBytes: 1e6 });
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('does not match the integrity'),
    });
    expect(await source.getTarball!('@acme/lib', '9.9.9', { maxBytes: 1e6 })).toEqual({
      status: 'not-found',
    });
  });
});
