// One suite, both backends: the embedded store (files in a data directory) and PostgreSQL (a real
// throwaway server). What a caller of the store interface relies on holds for both: conflicts and
// missing records as StoreError, optimistic revisions, a refused write leaving nothing behind,
// audit queries and ids. Replica behaviour (two processes on one database) is PostgreSQL's alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCheckTokens } from '../../server/check-tokens.js';
import { createConsoleSessions } from '../../server/console-sessions.js';
import { createEmbeddedStore } from '../../server/embedded-store.js';
import { createPolicyStore } from '../../server/policy-store.js';
import { createPostgresStore } from '../../server/postgres-store.js';
import { type PolicyRecord, type StateStore, StoreError } from '../../server/state-store.js';
import { makeAuditEntry } from '../helpers/make-audit-entry.js';
import { NOW } from '../helpers/make-policy.js';
import { startPostgres, type TestPostgres } from '../helpers/start-postgres.js';

let server: TestPostgres;
const cleanup: Array<() => Promise<void>> = [];
let clock = NOW;
const now = () => clock;
const retention = { maxEntries: 10_000, maxAgeDays: 30 };

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  clock = NOW;
  while (cleanup.length > 0) await cleanup.pop()!();
});

interface Backend {
  /** A new empty place for state; `open` opens a store on it (again, for restarts or replicas). */
  fresh(): Promise<{ open(): Promise<StateStore>; breakPolicyWrites(): Promise<void> }>;
}

const backends: Array<[string, Backend]> = [
  [
    'embedded',
    {
      async fresh() {
        const dataDir = await mkdtemp(join(tmpdir(), 'lockwarden-store-'));
        cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
        return {
          open: () => createEmbeddedStore({ dataDir, now, audit: retention }),
          async breakPolicyWrites() {
            // A directory where the file goes: every write's rename fails.
            const { mkdir, rm: remove } = await import('node:fs/promises');
            await remove(join(dataDir, 'policies.json'), { force: true });
            await mkdir(join(dataDir, 'policies.json'));
          },
        };
      },
    },
  ],
  [
    'postgres',
    {
      async fresh() {
        const url = await server.createDatabase();
        return {
          open: () => createPostgresStore({ url, now, audit: retention }),
          async breakPolicyWrites() {
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
              // Every write from now on fails, as a full disk or a lost primary would.
              await client.query(`
                CREATE FUNCTION refuse_writes() RETURNS trigger AS $$
                  BEGIN RAISE EXCEPTION 'writes refused by the test'; END $$ LANGUAGE plpgsql;
                CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE OR DELETE ON lockwarden_policies
                  FOR EACH ROW EXECUTE FUNCTION refuse_writes();`);
            } finally {
              await client.end();
            }
          },
        };
      },
    },
  ],
];

const opened = async (place: { open(): Promise<StateStore> }) => {
  const store = await place.open();
  cleanup.push(() => store.close());
  return store;
};

const record = (id: string, revision = 1): PolicyRecord => ({
  id,
  policy: { id, coolingOffDays: 7 },
  revision,
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  stamp: `s${revision}`,
});

const entry = makeAuditEntry;

describe.each(backends)('%s store', (_name, backend) => {
  it('keeps policies with optimistic revisions, and says what went wrong as a StoreError', async () => {
    const place = await backend.fresh();
    const store = await opened(place);
    await store.policies.insert(record('team'));
    await expect(store.policies.insert(record('team'))).rejects.toMatchObject({ kind: 'conflict' });
    await store.policies.replace(record('team', 2));
    // A replica that read revision 1 cannot overwrite revision 2.
    await expect(store.policies.replace(record('team', 2))).rejects.toMatchObject({ kind: 'conflict' });
    await expect(store.policies.replace(record('nope', 2))).rejects.toMatchObject({ kind: 'not-found' });
    await expect(store.policies.remove('nope')).rejects.toBeInstanceOf(StoreError);
    await store.policies.insert(record('web'));
    await store.policies.remove('web');
    await store.close();
    cleanup.pop();
    const again = await opened(place);
    expect(await again.policies.list()).toEqual([record('team', 2)]);
  });

  it('keeps check tokens by hash, one per name, up to a limit', async () => {
    const store = await opened(await backend.fresh());
    const token = (id: string, name: string) => ({
      id,
      name,
      policies: ['team'],
      createdAt: NOW.toISOString(),
      sha256: id.repeat(64 / id.length),
    });
    await store.checkTokens.insert(token('a', 'ci-a'), 2);
    await expect(store.checkTokens.insert(token('b', 'ci-a'), 2)).rejects.toThrow(
      /a token named "ci-a" exists/,
    );
    await store.checkTokens.insert(token('c', 'ci-c'), 2);
    await expect(store.checkTokens.insert(token('d', 'ci-d'), 2)).rejects.toThrow(/at most 2 issued tokens/);
    expect(await store.checkTokens.byHash('a'.repeat(64))).toEqual(token('a', 'ci-a'));
    expect(await store.checkTokens.byHash('b'.repeat(64))).toBeUndefined();
    await store.checkTokens.remove('a');
    await expect(store.checkTokens.remove('a')).rejects.toMatchObject({ kind: 'not-found' });
    expect((await store.checkTokens.list()).map((t) => t.name)).toEqual(['ci-c']);
  });

  it('keeps the first value a setting was given', async () => {
    const store = await opened(await backend.fresh());
    expect(await store.settings.get('k')).toBeUndefined();
    expect(await store.settings.putIfAbsent('k', 'first')).toBe('first');
    expect(await store.settings.putIfAbsent('k', 'second')).toBe('first');
    await store.settings.put('k', 'third');
    expect(await store.settings.get('k')).toBe('third');
  });

  it('applies concurrent read-modify-writes of a setting one after another', async () => {
    const store = await opened(await backend.fresh());
    const add = (n: number) =>
      store.settings.update('list', (current) => JSON.stringify([...JSON.parse(current ?? '[]'), n]));
    await Promise.all(Array.from({ length: 20 }, (_, n) => add(n)));
    expect((JSON.parse((await store.settings.get('list'))!) as number[]).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
  });

  it('serves no policy change the store refused', async () => {
    const place = await backend.fresh();
    const store = await opened(place);
    const policies = await createPolicyStore({
      records: store.policies,
      filePolicies: [],
      now,
      source: 'test',
    });
    await policies.create({ id: 'team', coolingOffDays: 7 });
    await place.breakPolicyWrites();
    await expect(policies.create({ id: 'web', coolingOffDays: 3 })).rejects.toThrow();
    await expect(policies.update('team', { coolingOffDays: 1 })).rejects.toThrow();
    await expect(policies.remove('team')).rejects.toThrow();
    expect(await policies.get('web')).toBeUndefined();
    expect((await policies.get('team'))?.policy.coolingOffDays).toBe(7);
    expect((await policies.list()).map((p) => p.policy.id)).toEqual(['default', 'team']);
  });

  it('answers audit queries by every filter, newest first, page by page, ids rising across restarts', async () => {
    const place = await backend.fresh();
    let store = await opened(place);
    await store.audit.record([
      entry(1, { policy: 'a', outcome: 'hidden' }),
      entry(2, { policy: 'a', label: 'img', rule: 'typosquatting' }),
      entry(1, { policy: 'b', label: 'img', source: 'ci', outcome: 'alert' }),
    ]);
    clock = new Date(NOW.getTime() + 3_600_000);
    await store.audit.record([entry(1, { policy: 'a', label: 'img', userAgent: null, version: null })]);
    const ids = async (q: Parameters<StateStore['audit']['query']>[0]) =>
      (await store.audit.query(q)).entries.map((e) => e.id);
    const all = await ids({});
    expect(all).toHaveLength(4);
    expect([...all].sort((x, y) => y - x)).toEqual(all);
    const [d, c, b, a] = all as [number, number, number, number];
    expect(await ids({ policy: 'a' })).toEqual([d, b, a]);
    expect(await ids({ policy: 'a', package: 'pkg-1' })).toEqual([d, a]);
    expect(await ids({ label: 'img', policy: 'a' })).toEqual([d, b]);
    expect(await ids({ rule: 'typosquatting' })).toEqual([b]);
    expect(await ids({ outcome: 'alert' })).toEqual([c]);
    expect(await ids({ source: 'ci' })).toEqual([c]);
    expect(await ids({ policy: 'nope' })).toEqual([]);
    expect(await ids({ since: new Date(NOW.getTime() + 1) })).toEqual([d]);
    expect(await ids({ until: NOW })).toEqual([c, b, a]);
    const first = await store.audit.query({ policy: 'a', limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual([d, b]);
    expect(first.nextCursor).toBe(b);
    expect(await store.audit.query({ policy: 'a', limit: 2, cursor: b })).toEqual({
      entries: [{ id: a, time: NOW.toISOString(), ...entry(1, { policy: 'a', outcome: 'hidden' }) }],
      nextCursor: null,
    });
    expect((await store.audit.query({ limit: 1 })).entries[0]).toEqual({
      id: d,
      time: clock.toISOString(),
      ...entry(1, { policy: 'a', label: 'img', userAgent: null, version: null }),
    });

    // Past the retention age, entries are no longer answered.
    clock = new Date(NOW.getTime() + 31 * 86_400_000);
    expect(await ids({})).toEqual([]);
    clock = NOW;

    await store.close();
    cleanup.pop();
    store = await opened(place);
    await store.audit.record([entry(9)]);
    expect((await store.audit.query({ limit: 1 })).entries[0]!.id).toBeGreaterThan(d);
  });

  it('keeps hostile text as it was recorded', async () => {
    const store = await opened(await backend.fresh());
    const odd = ['__proto__', 'a\'b"c\\d', 'line\nbreak', 'ünïcødé 🚀', '\u2028', 'x; DROP TABLE y'];
    await store.audit.record(odd.map((name, i) => entry(i, { package: name, reason: name, label: name })));
    for (const name of odd) {
      const { entries } = await store.audit.query({ package: name, label: name });
      expect(entries.map((e) => e.reason)).toEqual([name]);
    }
  });
});

// How long a replica may take to hear of another's change here. LISTEN/NOTIFY delivers in
// milliseconds; the margin is for a loaded CI machine (the suite runs files in parallel), since a
// test decides correctness, not speed: the 1 s budget of docs/server.md is a property of the
// mechanism, not something a timed test on a shared machine can prove.
const PROPAGATION_MS = 15_000;

describe('two replicas on one PostgreSQL database', () => {
  it('act as one service: policies, check tokens and the audit log are shared', async () => {
    const url = await server.createDatabase();
    const open = async () => {
      const store = await createPostgresStore({ url, now, audit: retention });
      cleanup.push(() => store.close());
      const policies = await createPolicyStore({
        records: store.policies,
        filePolicies: [],
        now,
        source: 'db',
      });
      store.onPoliciesChanged(() => void policies.reload());
      return {
        store,
        policies,
        tokens: createCheckTokens({ records: store.checkTokens, configured: [], now }),
      };
    };
    const [a, b] = await Promise.all([open(), open()]);
    // Started together: one default policy, not two.
    expect((await a.policies.list()).map((p) => p.policy.id)).toEqual(['default']);

    await a.policies.create({ id: 'team', coolingOffDays: 7 });
    await expect
      .poll(async () => (await b.policies.get('team'))?.policy.coolingOffDays, { timeout: PROPAGATION_MS })
      .toBe(7);
    await a.policies.update('team', { coolingOffDays: 2 });
    await expect
      .poll(async () => (await b.policies.get('team'))?.revision, { timeout: PROPAGATION_MS })
      .toBe(2);
    expect((await b.policies.get('team'))?.cacheKey).toBe((await a.policies.get('team'))?.cacheKey);
    // B edits revision 2; an edit A based on revision 2 as well is refused instead of undoing B's
    // (whether A has heard of B's edit yet or not).
    await b.policies.update('team', { coolingOffDays: 3 });
    await expect(a.store.policies.replace(record('team', 3))).rejects.toMatchObject({ kind: 'conflict' });
    await expect
      .poll(async () => (await a.policies.get('team'))?.policy.coolingOffDays, { timeout: PROPAGATION_MS })
      .toBe(3);
    await b.policies.remove('team');
    await expect.poll(async () => await a.policies.get('team'), { timeout: PROPAGATION_MS }).toBeUndefined();

    const issued = await a.tokens.issue({ name: 'ci' }, async () => true);
    expect(await b.tokens.grantOf(issued.token)).toEqual({ name: 'ci', policies: null });
    await b.tokens.revoke(issued.id);
    expect(await a.tokens.grantOf(issued.token)).toBeUndefined();

    await Promise.all([a.store.audit.record([entry(1)]), b.store.audit.record([entry(2)])]);
    const seen = (await a.store.audit.query({})).entries.map((e) => e.package).sort();
    expect(seen).toEqual(['pkg-1', 'pkg-2']);
  });

  it('keeps every console sign-out when two replicas sign sessions out at once', async () => {
    const url = await server.createDatabase();
    const open = async () => {
      const store = await createPostgresStore({ url, now, audit: retention });
      cleanup.push(() => store.close());
      return createConsoleSessions({ settings: store.settings, adminFingerprint: 'f', now });
    };
    const [a, b] = await Promise.all([open(), open()]);
    const sessions = Array.from({ length: 10 }, () => a.create());
    for (const s of sessions) expect(await b.verify(s.cookie)).toBeDefined();
    // Half signed out through each replica, all at once: a read-modify-write lost some of them.
    await Promise.all(sessions.map((s, i) => (i % 2 === 0 ? a : b).revoke(s.session)));
    for (const s of sessions) {
      expect(await a.verify(s.cookie)).toBeUndefined();
      expect(await b.verify(s.cookie)).toBeUndefined();
    }
  });

  it('a replica whose LISTEN connection was cut reconnects and catches up', async () => {
    const url = await server.createDatabase();
    const open = async () => {
      const store = await createPostgresStore({ url, now, audit: retention, onError: () => {} });
      cleanup.push(() => store.close());
      const policies = await createPolicyStore({
        records: store.policies,
        filePolicies: [],
        now,
        source: 'db',
      });
      store.onPoliciesChanged(() => void policies.reload());
      return { store, policies };
    };
    const a = await open();
    const b = await open();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // Every LISTEN connection is cut, as a database restart or a network blip would.
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
      );
      expect(rowCount).toBe(2);
    } finally {
      await admin.end();
    }
    expect(b.store.describe()).toMatchObject({ kind: 'postgres' });
    // Changed while B is not listening: B reloads when it is back.
    await a.policies.create({ id: 'team', coolingOffDays: 7 });
    await expect
      .poll(async () => (await b.policies.get('team'))?.revision, { timeout: PROPAGATION_MS })
      .toBe(1);
    await expect.poll(() => b.store.describe().listening, { timeout: PROPAGATION_MS }).toBe(true);
    await a.policies.update('team', { coolingOffDays: 2 });
    await expect
      .poll(async () => (await b.policies.get('team'))?.revision, { timeout: PROPAGATION_MS })
      .toBe(2);
  });
});
