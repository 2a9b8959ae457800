// The webhook outbox on both backends (embedded journal, real throwaway PostgreSQL): subscriptions,
// enqueue and claim, the 10-minute coalescing with counts, retries and dead letters, what survives
// a restart, and (PostgreSQL) two replicas never delivering one message twice.
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../server/embedded-store.js';
import { createPostgresStore } from '../../server/postgres-store.js';
import type { StateStore } from '../../server/state-store.js';
import type { NewOutboxMessage, WebhookRecord } from '../../server/webhook-outbox.js';
import { NOW } from '../helpers/make-policy.js';
import { startPostgres, type TestPostgres } from '../helpers/start-postgres.js';

const WINDOW = 10 * 60_000;
const LEASE = 60_000;
const retention = { maxEntries: 10_000, maxAgeDays: 30 };
const now = () => NOW;
const t0 = NOW.getTime();

let server: TestPostgres;
const cleanup: Array<() => Promise<void>> = [];
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

type Open = () => Promise<StateStore>;
const backends: Array<[string, () => Promise<{ open: Open; dataDir?: string }>]> = [
  [
    'embedded',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'lockwarden-outbox-'));
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      return { open: () => createEmbeddedStore({ dataDir, now, audit: retention }), dataDir };
    },
  ],
  [
    'postgres',
    async () => {
      const url = await server.createDatabase();
      return { open: () => createPostgresStore({ url, now, audit: retention }) };
    },
  ],
];

function hook(id: string): WebhookRecord {
  return {
    id,
    url: 'https://hooks.example.test/x',
    events: ['block'],
    policies: ['*'],
    format: 'standard',
    description: null,
    secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0',
    createdAt: NOW.toISOString(),
  };
}

let seq = 0;
function occurrence(subscriptionId: string, key: string | null, atMs: number): NewOutboxMessage {
  return {
    id: `msg_${++seq}`,
    subscriptionId,
    type: 'block',
    data: { name: 'expres', rule: 'typosquatting' },
    coalesceKey: key,
    count: 1,
    time: new Date(atMs).toISOString(),
  };
}

describe.each(backends)('%s outbox', (_name, fresh) => {
  async function opened() {
    const place = await fresh();
    const store = await place.open();
    let open = true;
    cleanup.push(async () => {
      if (open) await store.close();
    });
    return {
      store,
      place,
      async reopen() {
        open = false;
        await store.close();
        const again = await place.open();
        cleanup.push(() => again.close());
        return again;
      },
    };
  }

  it('keeps subscriptions, up to a limit; deleting one drops its messages', async () => {
    const { store } = await opened();
    await store.webhooks.insert(hook('wh_a'), 2);
    await store.webhooks.insert(hook('wh_b'), 2);
    await expect(store.webhooks.insert(hook('wh_c'), 2)).rejects.toMatchObject({ kind: 'conflict' });
    expect((await store.webhooks.list()).map((w) => w.id)).toEqual(['wh_a', 'wh_b']);
    expect(await store.webhooks.get('wh_a')).toEqual(hook('wh_a'));
    await store.outbox.enqueue([occurrence('wh_a', null, t0), occurrence('wh_b', null, t0)], t0, WINDOW);
    await store.webhooks.remove('wh_a');
    await expect(store.webhooks.remove('wh_a')).rejects.toMatchObject({ kind: 'not-found' });
    const claimed = await store.outbox.claim(t0, 10, LEASE);
    expect(claimed.map((m) => m.subscriptionId)).toEqual(['wh_b']);
    // A message claimed just before its subscription went is dropped, not kept as a dead letter.
    await store.outbox.discard(claimed[0]!.id);
    expect(await store.outbox.deliveryStates()).toEqual([]);
  });

  it('claims each due message once per lease; an unfinished claim is due again after the lease, also after a restart', async () => {
    const { store, reopen } = await opened();
    await store.webhooks.insert(hook('wh_a'), 10);
    await store.outbox.enqueue([occurrence('wh_a', null, t0)], t0, WINDOW);
    const [first] = await store.outbox.claim(t0, 10, LEASE);
    expect(first).toMatchObject({ subscriptionId: 'wh_a', count: 1, attempts: 0, state: 'pending' });
    expect(await store.outbox.claim(t0 + 1_000, 10, LEASE)).toEqual([]);
    expect((await store.outbox.claim(t0 + LEASE, 10, LEASE)).map((m) => m.id)).toEqual([first!.id]);

    // Enqueued, never delivered: a restart (or kill -9) keeps it.
    const again = await reopen();
    expect((await again.outbox.claim(t0 + 2 * LEASE, 10, LEASE)).map((m) => m.id)).toEqual([first!.id]);
    await again.outbox.delivered(first!.id, { at: NOW.toISOString(), status: 204, error: null });
    expect(await again.outbox.claim(t0 + 10 * LEASE, 10, LEASE)).toEqual([]);
    expect(await again.outbox.backlog()).toBe(0);
    expect(await again.outbox.deliveryStates()).toEqual([
      expect.objectContaining({ subscriptionId: 'wh_a', delivered: 1, pending: 0, dead: 0, lastStatus: 204 }),
    ]);
  });

  it('coalesces repeats of one key into one message per 10 minutes, carrying the count', async () => {
    const { store } = await opened();
    await store.webhooks.insert(hook('wh_a'), 10);
    const key = '["default","expres",null,"typosquatting","block"]';
    // The first occurrence is due at once; repeats before its first attempt are counted into it.
    await store.outbox.enqueue([occurrence('wh_a', key, t0)], t0, WINDOW);
    await store.outbox.enqueue(
      [occurrence('wh_a', key, t0 + 1), occurrence('wh_a', key, t0 + 2)],
      t0 + 2,
      WINDOW,
    );
    const [first] = await store.outbox.claim(t0 + 3, 10, LEASE);
    expect(first).toMatchObject({ count: 3, dueAt: t0 });
    // While it is on its way, repeats open the next window's message, due when this window ends.
    await store.outbox.enqueue([occurrence('wh_a', key, t0 + 60_000)], t0 + 60_000, WINDOW);
    await store.outbox.delivered(first!.id, { at: NOW.toISOString(), status: 200, error: null });
    await store.outbox.enqueue([occurrence('wh_a', key, t0 + 120_000)], t0 + 120_000, WINDOW);
    expect(await store.outbox.claim(t0 + WINDOW - 1, 10, LEASE)).toEqual([]);
    const [second] = await store.outbox.claim(t0 + WINDOW, 10, LEASE);
    expect(second).toMatchObject({ count: 2, windowStart: t0 + WINDOW, dueAt: t0 + WINDOW });
    expect(second!.id).not.toBe(first!.id);
    await store.outbox.delivered(second!.id, { at: NOW.toISOString(), status: 200, error: null });
    // Long after: a new occurrence is sent at once again.
    const later = t0 + 5 * WINDOW;
    await store.outbox.enqueue([occurrence('wh_a', key, later)], later, WINDOW);
    expect(await store.outbox.claim(later, 10, LEASE)).toEqual([
      expect.objectContaining({ count: 1, dueAt: later }),
    ]);
    // Other keys and other subscriptions never merge.
    await store.webhooks.insert(hook('wh_b'), 10);
    await store.outbox.enqueue(
      [occurrence('wh_a', `${key}x`, later), occurrence('wh_b', key, later)],
      later,
      WINDOW,
    );
    expect(await store.outbox.claim(later, 10, LEASE)).toHaveLength(2);
  });

  it('retries at the time given, keeps dead letters, and redelivers them', async () => {
    const { store, reopen } = await opened();
    await store.webhooks.insert(hook('wh_a'), 10);
    await store.outbox.enqueue([occurrence('wh_a', null, t0), occurrence('wh_a', null, t0)], t0, WINDOW);
    const [a, b] = await store.outbox.claim(t0, 10, LEASE);
    await store.outbox.failed(
      a!.id,
      { at: NOW.toISOString(), status: 500, error: 'answered 500' },
      t0 + 10_000,
    );
    await store.outbox.failed(b!.id, { at: NOW.toISOString(), status: null, error: 'ECONNREFUSED' }, null);
    expect(await store.outbox.claim(t0 + 9_999, 10, LEASE)).toEqual([]);
    expect(await store.outbox.claim(t0 + 10_000, 10, LEASE)).toEqual([
      expect.objectContaining({ id: a!.id, attempts: 1, lastStatus: 500, lastError: 'answered 500' }),
    ]);
    const again = await reopen();
    expect(await again.outbox.deadLetters('wh_a', 10)).toEqual([
      expect.objectContaining({ id: b!.id, state: 'dead', attempts: 1, lastError: 'ECONNREFUSED' }),
    ]);
    await expect(again.outbox.redeliver('wh_a', 'msg_nope', t0)).rejects.toMatchObject({ kind: 'not-found' });
    expect(await again.outbox.redeliver('wh_a', b!.id, t0 + 20_000)).toBe(1);
    expect(await again.outbox.deadLetters('wh_a', 10)).toEqual([]);
    // (a's claim at +10 s holds it for a lease.)
    const claimed = await again.outbox.claim(t0 + 10_000 + LEASE, 10, LEASE);
    expect(claimed.map((m) => m.id).sort()).toEqual([a!.id, b!.id].sort());
    expect(claimed.find((m) => m.id === b!.id)).toMatchObject({ attempts: 0, state: 'pending' });
  });

  it('prunes delivered messages once their window is over', async () => {
    const { store } = await opened();
    await store.webhooks.insert(hook('wh_a'), 10);
    await store.outbox.enqueue([occurrence('wh_a', 'k', t0)], t0, WINDOW);
    const [m] = await store.outbox.claim(t0, 10, LEASE);
    await store.outbox.delivered(m!.id, { at: NOW.toISOString(), status: 200, error: null });
    await store.outbox.prune(t0);
    expect((await store.outbox.deliveryStates())[0]).toMatchObject({ delivered: 1 });
    await store.outbox.prune(t0 + WINDOW + 1);
    expect(await store.outbox.deliveryStates()).toEqual([]);
  });
});

describe('embedded outbox journal', () => {
  it('skips a line torn by a crash and keeps the rest', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lockwarden-outbox-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const torn: string[] = [];
    const open = () =>
      createEmbeddedStore({
        dataDir,
        now,
        audit: retention,
        onCorrupt: (file, _movedTo, reason) => torn.push(`${file}: ${reason}`),
      });
    const store = await open();
    await store.webhooks.insert(hook('wh_a'), 10);
    await store.outbox.enqueue([occurrence('wh_a', null, t0)], t0, WINDOW);
    await store.close();
    const journal = join(dataDir, 'webhooks', 'outbox.jsonl');
    await appendFile(journal, '{"m":{"id":"msg_half","subscr');
    const again = await open();
    cleanup.push(() => again.close());
    expect(await again.outbox.claim(t0, 10, LEASE)).toHaveLength(1);
    expect(torn).toEqual([expect.stringContaining('1 unreadable line(s) skipped')]);
  });

  it('rewrites the journal with the live messages once it is mostly history', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lockwarden-outbox-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const store = await createEmbeddedStore({ dataDir, now, audit: retention });
    await store.webhooks.insert(hook('wh_a'), 10);
    // 1,500 counted repeats (one line each) and one message that stays pending.
    for (let i = 0; i < 15; i++)
      await store.outbox.enqueue(
        Array.from({ length: 100 }, () => occurrence('wh_a', 'k', t0)),
        t0,
        WINDOW,
      );
    await store.outbox.enqueue([occurrence('wh_a', null, t0)], t0, WINDOW);
    const lines = (await readFile(join(dataDir, 'webhooks', 'outbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(1_000);
    await store.close();
    const again = await createEmbeddedStore({ dataDir, now, audit: retention });
    cleanup.push(() => again.close());
    const claimed = await again.outbox.claim(t0, 10, LEASE);
    expect(claimed.map((m) => m.count).sort()).toEqual([1, 1_500]);
  });
});

describe('two replicas on one PostgreSQL outbox', () => {
  it('deliver each message once and count concurrent repeats into one message', async () => {
    const url = await server.createDatabase();
    const open = async () => {
      const store = await createPostgresStore({ url, now, audit: retention });
      cleanup.push(() => store.close());
      return store;
    };
    const [a, b] = await Promise.all([open(), open()]);
    await a.webhooks.insert(hook('wh_a'), 10);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).outbox.enqueue([occurrence('wh_a', null, t0)], t0, WINDOW),
      ),
    );
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).outbox.claim(t0, 3, LEASE)),
    );
    const ids = claims.flat().map((m) => m.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);

    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).outbox.enqueue([occurrence('wh_a', 'same', t0)], t0, WINDOW),
      ),
    );
    const merged = await a.outbox.claim(t0, 10, LEASE);
    expect(merged).toEqual([expect.objectContaining({ coalesceKey: 'same', count: 10 })]);
  });
});
