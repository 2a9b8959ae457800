// The webhook outbox in the data directory: a journal (`webhooks/outbox.jsonl`) of message
// snapshots, one JSON line per change, appended and fsynced in groups (everything changed while a
// write runs goes into the next one), so an enqueue resolves once it would survive `kill -9`.
// The live messages are kept in memory; opening replays the journal (the last snapshot of an id
// wins, a torn last line from a crash is skipped), and the journal is rewritten with only the
// live messages once it holds several times more lines than those. One process owns a data
// directory, so a claim is an in-memory lease: a restart forgets it and the message is due again.
// What an attempt changed (delivered, failed) is not waited for: it goes out with the next commit,
// within ATTEMPT_COMMIT_MS, so deliveries add no fsync of their own to the loop the install path
// runs on. A `kill -9` in that window sends the message again, with the same `webhook-id`.
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StoreError } from './state-store.js';
import {
  coalesceInto,
  type DeliveryState,
  newMessage,
  type OutboxMessage,
  type OutboxRecords,
} from './webhook-outbox.js';

type Line = { m: OutboxMessage } | { d: string };

/** How long an attempt's outcome may wait for a commit to go out with. */
export const ATTEMPT_COMMIT_MS = 1_000;

export interface EmbeddedOutbox extends OutboxRecords {
  /** Drops a subscription's messages (the subscription was deleted). */
  removeSubscription(subscriptionId: string): Promise<void>;
  close(): Promise<void>;
}

export async function openEmbeddedOutbox(
  dir: string,
  onCorrupt?: (file: string, reason: string) => void,
): Promise<EmbeddedOutbox> {
  const file = join(dir, 'outbox.jsonl');
  await mkdir(dir, { recursive: true });
  const messages = new Map<string, OutboxMessage>();
  /** Newest message per subscription and coalescing key. */
  const newestByKey = new Map<string, OutboxMessage>();
  const leases = new Map<string, number>();
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let bad = 0;
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      bad++;
      continue;
    }
    if ('d' in line) messages.delete(line.d);
    else if (line.m && typeof line.m.id === 'string') messages.set(line.m.id, line.m);
    else bad++;
  }
  if (bad > 0) onCorrupt?.(file, `${bad} unreadable line(s) skipped (a write cut off by a crash)`);
  for (const m of messages.values()) indexKey(m);

  let handle: FileHandle = await open(file, 'a', 0o600);
  let linesInFile = messages.size + bad;
  let queued: string[] = [];
  let waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  /** A commit loop is running (set and cleared synchronously, so no waiter is left behind). */
  let active = false;
  let writing: Promise<void> = Promise.resolve();
  let attemptTimer: NodeJS.Timeout | undefined;

  function indexKey(m: OutboxMessage): void {
    if (m.coalesceKey === null) return;
    const k = `${m.subscriptionId}\u0000${m.coalesceKey}`;
    const current = newestByKey.get(k);
    if (!current || current.windowStart <= m.windowStart) newestByKey.set(k, m);
  }

  function put(m: OutboxMessage): void {
    messages.set(m.id, m);
    indexKey(m);
    queued.push(JSON.stringify({ m } satisfies Line));
  }

  function drop(id: string): void {
    const m = messages.get(id);
    if (!m) return;
    messages.delete(id);
    leases.delete(id);
    if (m.coalesceKey !== null) {
      const k = `${m.subscriptionId}\u0000${m.coalesceKey}`;
      if (newestByKey.get(k) === m) newestByKey.delete(k);
    }
    queued.push(JSON.stringify({ d: id } satisfies Line));
  }

  /** Writes what is queued (one write and one fsync for all of it); resolves when durable. */
  function commit(): Promise<void> {
    if (queued.length === 0 && !active) return Promise.resolve();
    const durable = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    if (!active) {
      active = true;
      writing = run();
    }
    return durable;
  }

  async function run(): Promise<void> {
    for (;;) {
      if (queued.length === 0 && waiters.length === 0) {
        active = false;
        return;
      }
      const lines = queued;
      const done = waiters;
      queued = [];
      waiters = [];
      try {
        if (lines.length > 0) {
          await handle.write(`${lines.join('\n')}\n`);
          await handle.datasync();
          linesInFile += lines.length;
          if (linesInFile > Math.max(1_000, 4 * messages.size)) await compact();
        }
        for (const w of done) w.resolve();
      } catch (err) {
        // Kept, in order, for the next commit; the callers hear of the failure.
        queued = lines.concat(queued);
        for (const w of done) w.reject(err);
        active = false;
        return;
      }
    }
  }

  /** Attempt outcomes: queued for the running or next commit; a timer makes sure there is one. */
  function commitSoon(): Promise<void> {
    if (!active && !attemptTimer) {
      attemptTimer = setTimeout(() => {
        attemptTimer = undefined;
        // A failed write keeps its lines queued for the next commit, whose caller hears of it.
        commit().catch(() => {});
      }, ATTEMPT_COMMIT_MS);
      attemptTimer.unref();
    }
    return Promise.resolve();
  }

  /** Rewrites the journal with the live messages only: temp file, fsync, rename. */
  async function compact(): Promise<void> {
    const temp = join(dirname(file), `.outbox.${randomBytes(4).toString('hex')}.tmp`);
    const body = [...messages.values()].map((m) => `${JSON.stringify({ m } satisfies Line)}\n`).join('');
    const out = await open(temp, 'w', 0o600);
    try {
      await out.writeFile(body);
      await out.sync();
    } catch (err) {
      await out.close();
      await unlink(temp).catch(() => {});
      throw err;
    }
    await out.close();
    await rename(temp, file);
    await handle.close();
    handle = await open(file, 'a', 0o600);
    linesInFile = messages.size;
  }

  const update = (id: string, change: (m: OutboxMessage) => OutboxMessage): void => {
    const m = messages.get(id);
    if (m) put(change(m));
  };

  return {
    enqueue(batch, nowMs, windowMs) {
      for (const n of batch) {
        const newest =
          n.coalesceKey === null ? undefined : newestByKey.get(`${n.subscriptionId}\u0000${n.coalesceKey}`);
        const where = newest
          ? coalesceInto({ ...newest, leased: (leases.get(newest.id) ?? 0) > nowMs }, nowMs, windowMs)
          : { windowStart: nowMs };
        if (where === 'merge' && newest)
          put({
            ...newest,
            count: newest.count + n.count,
            lastSeen: n.time,
          });
        else if (where !== 'merge') put(newMessage(n, where.windowStart));
      }
      return commit();
    },
    async claim(nowMs, limit, leaseMs) {
      const out: OutboxMessage[] = [];
      for (const m of messages.values()) {
        if (out.length >= limit) break;
        if (m.state !== 'pending' || m.dueAt > nowMs || (leases.get(m.id) ?? 0) > nowMs) continue;
        leases.set(m.id, nowMs + leaseMs);
        out.push(m);
      }
      return out;
    },
    discard(id) {
      drop(id);
      return commit();
    },
    delivered(id, r) {
      leases.delete(id);
      update(id, (m) => ({
        ...m,
        state: 'delivered',
        attempts: m.attempts + 1,
        lastAttemptAt: r.at,
        lastStatus: r.status,
        lastError: null,
        deliveredAt: r.at,
      }));
      return commitSoon();
    },
    failed(id, r, dueAt) {
      leases.delete(id);
      update(id, (m) => ({
        ...m,
        state: dueAt === null ? 'dead' : 'pending',
        attempts: m.attempts + 1,
        dueAt: dueAt ?? m.dueAt,
        lastAttemptAt: r.at,
        lastStatus: r.status,
        lastError: r.error,
      }));
      return commitSoon();
    },
    async deadLetters(subscriptionId, limit) {
      return [...messages.values()]
        .filter((m) => m.subscriptionId === subscriptionId && m.state === 'dead')
        .sort((a, b) => (b.lastAttemptAt ?? '').localeCompare(a.lastAttemptAt ?? ''))
        .slice(0, limit);
    },
    async redeliver(subscriptionId, messageId, nowMs) {
      let n = 0;
      for (const m of [...messages.values()]) {
        if (m.subscriptionId !== subscriptionId || m.state !== 'dead') continue;
        if (messageId !== null && m.id !== messageId) continue;
        put({ ...m, state: 'pending', attempts: 0, dueAt: nowMs });
        n++;
      }
      if (messageId !== null && n === 0)
        throw new StoreError('not-found', `no dead letter "${messageId}" for webhook "${subscriptionId}"`);
      await commit();
      return n;
    },
    async deliveryStates() {
      const states = new Map<string, DeliveryState>();
      for (const m of messages.values()) {
        let s = states.get(m.subscriptionId);
        if (!s) {
          s = {
            subscriptionId: m.subscriptionId,
            pending: 0,
            dead: 0,
            delivered: 0,
            lastAttemptAt: null,
            lastDeliveredAt: null,
            lastStatus: null,
            lastError: null,
          };
          states.set(m.subscriptionId, s);
        }
        s[m.state]++;
        if (m.deliveredAt && (s.lastDeliveredAt === null || m.deliveredAt > s.lastDeliveredAt))
          s.lastDeliveredAt = m.deliveredAt;
        if (m.lastAttemptAt && (s.lastAttemptAt === null || m.lastAttemptAt > s.lastAttemptAt)) {
          s.lastAttemptAt = m.lastAttemptAt;
          s.lastStatus = m.lastStatus;
          s.lastError = m.lastError;
        }
      }
      return [...states.values()];
    },
    async backlog() {
      let n = 0;
      for (const m of messages.values()) if (m.state === 'pending') n++;
      return n;
    },
    async prune(beforeMs) {
      for (const m of [...messages.values()])
        if (m.state === 'delivered' && m.windowStart < beforeMs && Date.parse(m.deliveredAt!) < beforeMs)
          drop(m.id);
      await commit();
    },
    async removeSubscription(subscriptionId) {
      for (const m of [...messages.values()]) if (m.subscriptionId === subscriptionId) drop(m.id);
      await commit();
    },
    async close() {
      if (attemptTimer) clearTimeout(attemptTimer);
      attemptTimer = undefined;
      if (queued.length > 0) await commit();
      while (active) await writing;
      await handle.close();
    },
  };
}
