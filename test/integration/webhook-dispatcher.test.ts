// The webhook dispatcher's name lookup is the address check: it refuses a name that resolves to an
// internal address before connecting, and the connection goes to the address it approved (so a
// name cannot resolve one way for the check and another for the connection).
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookDispatcher } from '../../server/webhook-address.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.stop();
});

describe('createWebhookDispatcher', () => {
  it('refuses a name resolving to loopback, and connects to exactly the resolved address when allowed', async () => {
    receiver = await startWebhookReceiver();
    const asked: string[] = [];
    const resolve = async (hostname: string) => {
      asked.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    // A name no DNS knows: reaching the receiver proves the connection used the checked answer.
    const url = `http://hooks.rebind.test:${receiver.port}/hook`;
    const strict = createWebhookDispatcher({
      allowPrivate: false,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 10_000,
      resolve,
    });
    await expect(request(url, { method: 'POST', body: '{}', dispatcher: strict })).rejects.toMatchObject({
      message: expect.stringContaining('hooks.rebind.test resolves to 127.0.0.1, a loopback address'),
    });
    expect(receiver.received).toEqual([]);
    await strict.close();

    const open = createWebhookDispatcher({
      allowPrivate: true,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 10_000,
      resolve,
    });
    const res = await request(url, { method: 'POST', body: '{}', dispatcher: open });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
    expect(receiver.received).toHaveLength(1);
    expect(asked).toEqual(['hooks.rebind.test', 'hooks.rebind.test']);
    await open.close();
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const resolve = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '::ffff:192.168.0.5', family: 6 },
    ];
    const d = createWebhookDispatcher({
      allowPrivate: false,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 10_000,
      resolve,
    });
    await expect(request('http://mixed.rebind.test/', { dispatcher: d })).rejects.toMatchObject({
      message: expect.stringContaining('a private address'),
    });
    await d.close();
  });
});
