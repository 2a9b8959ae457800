// The webhook sender thread: the worker module bundled as the build ships it (esbuild, next to the
// sender), posting real messages to a loopback receiver. The signature verifies, the URL checks
// hold inside the thread (no private address without --allow-private-webhooks, no redirect
// followed), answers map to outcomes, and closing ends the thread; without the worker module the
// sender posts inline.
import { readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { getPriority } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSecret } from '../../server/webhook-delivery.js';
import { newMessage } from '../../server/webhook-outbox.js';
import { createWebhookSender, SENDER_NICE, type SenderSettings } from '../../server/webhook-sender.js';
import { buildWebhookSenderWorker } from '../helpers/build-webhook-sender-worker.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
// Inside the repository, so the bundle's undici and ipaddr.js resolve from node_modules.
const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'lockwarden-test', `sender-${process.pid}`);
const workerUrl = pathToFileURL(path.join(dir, 'webhook-sender-worker.js'));
let receiver: WebhookReceiver;

const settings = (allowPrivate: boolean): SenderSettings => ({
  allowPrivate,
  userAgent: 'lockwarden/test (webhooks)',
  timeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  responseTimeoutMs: 5_000,
});

// A message as the outbox opens it (first seen at 00:00:00, last at 00:00:05, three refusals).
const message = newMessage(
  {
    id: 'msg_sender_test_1',
    subscriptionId: 'wh_1',
    type: 'block',
    data: { policy: 'strict', name: 'evil-pkg', version: '1.0.0', rule: 'blockList', outcome: 'blocked' },
    coalesceKey: 'k',
    count: 3,
    firstTime: '2026-12-06T00:00:00.000Z',
    time: '2026-12-06T00:00:05.000Z',
  },
  0,
);
const AT = Date.parse('2026-12-06T00:00:10.000Z');

/** One standard-format message to the receiver, under a new secret. */
const sendOne = (sender: ReturnType<typeof createWebhookSender>) =>
  sender.send({ url: receiver.url, format: 'standard', secret: newSecret(), message, atMs: AT });

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  await buildWebhookSenderWorker(path.join(dir, 'webhook-sender-worker.js'));
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the webhook sender thread', () => {
  it('posts a signed Standard Webhooks message from its thread and closes', async () => {
    const sender = createWebhookSender(settings(true), workerUrl);
    expect(sender.where).toBe('worker');
    const secret = newSecret();
    receiver.received.length = 0;
    receiver.answer = { status: 204 };
    const outcome = await sender.send({ url: receiver.url, format: 'standard', secret, message, atMs: AT });
    expect(outcome).toMatchObject({ ok: true, status: 204, error: null });
    expect(receiver.received).toHaveLength(1);
    const r = receiver.received[0]!;
    expect(r.headers['webhook-id']).toBe(message.id);
    expect(r.headers['webhook-timestamp']).toBe(String(AT / 1000));
    expect(r.headers['user-agent']).toBe('lockwarden/test (webhooks)');
    // The library's verify checks the timestamp against its own clock: give it the message's.
    const verified = new Webhook(secret.slice('whsec_'.length)) as unknown as {
      verify(body: string, headers: Record<string, string>): unknown;
    };
    const realNow = Date.now;
    Date.now = () => AT;
    try {
      expect(
        verified.verify(r.body, {
          'webhook-id': String(r.headers['webhook-id']),
          'webhook-timestamp': String(r.headers['webhook-timestamp']),
          'webhook-signature': String(r.headers['webhook-signature']),
        }),
      ).toMatchObject({ type: 'block', data: { name: 'evil-pkg', count: 3 } });
    } finally {
      Date.now = realNow;
    }
    await sender.close();
    // A send after close starts a new thread.
    const again = await sender.send({ url: receiver.url, format: 'slack', secret, message, atMs: AT });
    expect(again.ok).toBe(true);
    expect(receiver.received[1]!.json.text).toMatch(/blocked evil-pkg@1\.0\.0/);
    await sender.close();
  });

  it('refuses private addresses inside the thread, follows no redirect, reports failures', async () => {
    const strict = createWebhookSender(settings(false), workerUrl);
    receiver.received.length = 0;
    const secret = newSecret();
    for (const url of [receiver.url, `http://localhost:${receiver.port}/hook`]) {
      const outcome = await strict.send({ url, format: 'standard', secret, message, atMs: AT });
      expect(outcome).toMatchObject({ ok: false, status: null });
      expect(outcome.error).toMatch(/loopback.*--allow-private-webhooks/);
    }
    expect(receiver.received).toHaveLength(0);
    await strict.close();

    const open = createWebhookSender(settings(true), workerUrl);
    receiver.answer = { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } };
    const redirected = await open.send({ url: receiver.url, format: 'standard', secret, message, atMs: AT });
    expect(redirected).toMatchObject({ ok: false, status: 302 });
    expect(redirected.error).toMatch(/redirects are not followed/);
    receiver.answer = { status: 500 };
    const failed = await open.send({ url: receiver.url, format: 'standard', secret, message, atMs: AT });
    expect(failed).toMatchObject({ ok: false, status: 500, error: 'answered 500' });
    receiver.answer = { status: 204 };
    // Several at once, answered in any order, each to its own caller.
    const many = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        open.send({
          url: receiver.url,
          format: 'standard',
          secret,
          message: { ...message, id: `msg_many_${i}` },
          atMs: AT,
        }),
      ),
    );
    expect(many.every((o) => o.ok)).toBe(true);
    expect(new Set(receiver.received.slice(-12).map((r) => r.headers['webhook-id'])).size).toBe(12);
    await open.close();
  });

  // Linux keeps a nice value per thread: the sender's is lowered, the main thread's is not.
  it.runIf(process.platform === 'linux')('runs below the main thread in CPU priority (Linux)', async () => {
    const niceOf = (tid: number) => {
      try {
        return getPriority(tid);
      } catch {
        return undefined; // the thread ended meanwhile
      }
    };
    // The sender thread inherits the main thread's nice value and adds SENDER_NICE to it.
    const mainNice = getPriority(process.pid);
    const expected = Math.min(19, mainNice + SENDER_NICE);
    const lowered = () =>
      readdirSync('/proc/self/task')
        .map(Number)
        .filter((tid) => tid !== process.pid && niceOf(tid) === expected);
    const before = lowered();
    const sender = createWebhookSender(settings(true), workerUrl);
    receiver.answer = { status: 204 };
    const outcome = await sendOne(sender);
    expect(outcome.ok).toBe(true);
    const during = lowered();
    expect(during.filter((tid) => !before.includes(tid))).toHaveLength(1);
    expect(getPriority(process.pid)).toBe(mainNice);
    await sender.close();
    expect(lowered().filter((tid) => !before.includes(tid))).toHaveLength(0);
  });

  it('posts inline when the worker module is not there', async () => {
    const sender = createWebhookSender(settings(true), pathToFileURL(path.join(dir, 'missing.js')));
    expect(sender.where).toBe('inline');
    receiver.answer = { status: 204 };
    const outcome = await sendOne(sender);
    expect(outcome.ok).toBe(true);
    await sender.close();
  });
});
