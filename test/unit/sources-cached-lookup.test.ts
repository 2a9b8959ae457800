// The name cache under every outbound connection: a transient resolver failure is never cached (a
// retry must be able to succeed), a definitive "no such name" is cached briefly, and concurrent
// lookups of one name share one resolution. The clock and the resolver are injected: no sleeps,
// no network.
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { createCachedLookup } from '../../src/sources/http-dispatcher.js';

const ADDRESS: LookupAddress = { address: '127.0.0.1', family: 4 };

const failure = (code: string | undefined, host: string) =>
  Object.assign(new Error(`getaddrinfo ${code ?? 'failed'} ${host}`), code ? { code } : {});

/** A resolver whose answers the test gives, one per call, and that records the names asked. */
function scriptedResolver(answers: Array<'ok' | string | undefined>) {
  const asked: string[] = [];
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    asked.push(host);
    const answer = answers.shift() ?? 'ok';
    if (answer === 'ok') return [ADDRESS];
    throw failure(answer === 'no code' ? undefined : answer, host);
  };
  return { asked, resolve };
}

function setup(answers: Array<'ok' | string>, options: { negativeTtlMs?: number; ttlMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const resolver = scriptedResolver(answers);
  const lookup = createCachedLookup({ ...options, now: () => clock.t, resolve: resolver.resolve });
  const look = (host = 'registry.test') =>
    new Promise<{ code: string | undefined; address: unknown }>((done) =>
      lookup(host, { all: true }, (err, address) =>
        done({ code: err ? (err.code ?? 'error') : undefined, address }),
      ),
    );
  return { clock, asked: resolver.asked, look };
}

describe('createCachedLookup', () => {
  it.each(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'no code'])(
    'never caches a transient failure (%s): the next lookup, at the same instant, resolves again',
    async (code) => {
      const { asked, look } = setup([code, 'ok']);
      expect((await look()).code).toBe(code === 'no code' ? 'error' : code);
      expect(await look()).toEqual({ code: undefined, address: [ADDRESS] });
      expect(asked).toEqual(['registry.test', 'registry.test']);
    },
  );

  it('lets a retry succeed 100 ms after an EAI_AGAIN (the old cache failed it for 30 s)', async () => {
    const { clock, asked, look } = setup(['EAI_AGAIN', 'ok']);
    expect((await look()).code).toBe('EAI_AGAIN');
    clock.t += 100;
    expect((await look()).code).toBeUndefined();
    // The success is cached as usual.
    clock.t += 30_000;
    expect((await look()).code).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it.each(['ENOTFOUND', 'ENODATA'])(
    'caches a definitive %s for the short negative TTL (1 s by default) only',
    async (code) => {
      const { clock, asked, look } = setup([code, code, 'ok']);
      expect((await look()).code).toBe(code);
      clock.t += 999;
      expect((await look()).code).toBe(code);
      expect(asked).toHaveLength(1);
      clock.t += 1;
      expect((await look()).code).toBe(code);
      expect(asked).toHaveLength(2);
      clock.t += 1_000;
      expect((await look()).code).toBeUndefined();
      expect(asked).toHaveLength(3);
    },
  );

  it('takes the negative TTL as configured', async () => {
    const { clock, asked, look } = setup(['ENOTFOUND', 'ok'], { negativeTtlMs: 5_000 });
    await look();
    clock.t += 4_999;
    expect((await look()).code).toBe('ENOTFOUND');
    clock.t += 1;
    expect((await look()).code).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it('reuses an answer for its TTL, then resolves again', async () => {
    const { clock, asked, look } = setup(['ok', 'ok'], { ttlMs: 60_000 });
    await look();
    clock.t += 59_999;
    await look();
    expect(asked).toHaveLength(1);
    clock.t += 1;
    await look();
    expect(asked).toHaveLength(2);
  });

  it('shares one resolution among concurrent lookups of a name, success or transient failure', async () => {
    let release: (() => void) | undefined;
    let fail = true;
    const asked: string[] = [];
    const lookup = createCachedLookup({
      now: () => 0,
      resolve: (host) => {
        asked.push(host);
        return new Promise((ok, no) => {
          release = () => (fail ? no(failure('EAI_AGAIN', host)) : ok([ADDRESS]));
        });
      },
    });
    const look = () =>
      new Promise<string | undefined>((done) =>
        lookup('registry.test', { all: true }, (err) => done(err?.code)),
      );
    const burst = () => Array.from({ length: 20 }, look);

    const failed = burst();
    expect(asked).toHaveLength(1);
    release!();
    expect(new Set(await Promise.all(failed))).toEqual(new Set(['EAI_AGAIN']));

    // The shared failure was not kept: the next burst resolves anew, once.
    fail = false;
    const succeeded = burst();
    expect(asked).toHaveLength(2);
    release!();
    expect(new Set(await Promise.all(succeeded))).toEqual(new Set([undefined]));
    expect(asked).toHaveLength(2);
  });

  it('answers one address (with its family) when not asked for all', async () => {
    const lookup = createCachedLookup({ resolve: async () => [ADDRESS] });
    const one = await new Promise<unknown[]>((done) =>
      lookup('registry.test', { family: 4 }, (err, address, family) => done([err, address, family])),
    );
    expect(one).toEqual([null, '127.0.0.1', 4]);
  });
});
