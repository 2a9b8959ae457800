// The pure rules behind webhooks: which addresses are refused, the retry schedule, coalescing.

import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { checkWebhookUrl, forbiddenAddressReason } from '../../server/webhook-address.js';
import { MAX_FAILURES, retryDelayMs, signMessage } from '../../server/webhook-delivery.js';
import { coalesceInto } from '../../server/webhook-outbox.js';

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['10.0.0.1', 'a private address'],
    ['172.16.5.4', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['169.254.169.254', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['0.0.0.0', 'the unspecified address'],
    ['::1', 'a loopback address'],
    ['::', 'the unspecified address'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['fd12:3456::1', 'a unique-local address'],
    ['fc00::1', 'a unique-local address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:10.0.0.1', 'a private address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['224.0.0.1', 'a special-purpose address (multicast)'],
    ['ff02::1', 'a special-purpose address (multicast)'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address)).toBe(reason);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(forbiddenAddressReason(address)).toBeUndefined();
  });

  it('checks URLs: scheme, credentials, IP literals and loopback names', () => {
    expect(() => checkWebhookUrl('https://hooks.example.test/a', false)).not.toThrow();
    expect(() => checkWebhookUrl('file:///etc/passwd', false)).toThrow(/must be http\(s\)/);
    expect(() => checkWebhookUrl('https://u:p@hooks.example.test/', false)).toThrow(/user name or password/);
    expect(() => checkWebhookUrl('http://[::ffff:a9fe:a9fe]/', false)).toThrow(/link-local/);
    expect(() => checkWebhookUrl('http://app.localhost/', false)).toThrow(/loopback name/);
    expect(() => checkWebhookUrl('http://127.0.0.1:9/', true)).not.toThrow();
  });
});

describe('retryDelayMs', () => {
  it('backs off exponentially with jitter that only lengthens, and gives up after at least 24 hours', () => {
    const low = () => 0;
    const high = () => 1;
    const bare = Array.from({ length: MAX_FAILURES - 1 }, (_, i) => retryDelayMs(i + 1, low)!);
    expect(bare.slice(0, 6)).toEqual([10_000, 40_000, 160_000, 640_000, 2_560_000, 10_240_000]);
    expect(bare.slice(6)).toEqual([21_600_000, 21_600_000, 21_600_000, 21_600_000]);
    expect(bare.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(retryDelayMs(1, high)).toBe(12_500);
    expect(retryDelayMs(MAX_FAILURES, low)).toBeNull();
  });
});

describe('signMessage', () => {
  it('signs as the standardwebhooks library does, and the library verifies it', () => {
    const secret = `whsec_${Buffer.from('a secret of twenty-four!').toString('base64')}`;
    const at = new Date('2026-03-01T12:00:00.999Z');
    const body = JSON.stringify({ type: 'block', data: { name: 'expres', note: 'ünïcödé' } });
    const signature = signMessage(secret, 'msg_1', at, body);
    expect(signature).toBe(new Webhook(secret).sign('msg_1', at, body));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)) };
    const verifier = new Webhook(secret);
    // The library checks the timestamp against its own clock: verify at the signing time.
    vi.useFakeTimers({ toFake: ['Date'], now: at });
    try {
      expect(verifier.verify(body, { ...headers, 'webhook-signature': signature })).toMatchObject({
        type: 'block',
      });
      expect(() =>
        verifier.verify(body.replace('expres', 'express'), { ...headers, 'webhook-signature': signature }),
      ).toThrow();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('coalesceInto', () => {
  const W = 600_000;
  const pending = { state: 'pending' as const, attempts: 0, windowStart: 1_000, leased: false };
  it.each([
    ['an unattempted message of the open window takes the count', pending, 2_000, 'merge'],
    [
      'a message on its way (leased) does not',
      { ...pending, leased: true },
      2_000,
      { windowStart: 1_000 + W },
    ],
    ['nor one already attempted', { ...pending, attempts: 1 }, 2_000, { windowStart: 1_000 + W }],
    ['nor a delivered one', { ...pending, state: 'delivered' as const }, 2_000, { windowStart: 1_000 + W }],
    [
      'after the window a new message is due at once',
      { ...pending, state: 'delivered' as const },
      1_000 + W,
      { windowStart: 1_000 + W },
    ],
    [
      'also when the old one still waits for retries',
      { ...pending, attempts: 3 },
      5_000 + W,
      { windowStart: 5_000 + W },
    ],
  ])('%s', (_what, newest, now, expected) => {
    expect(coalesceInto(newest, now, W)).toEqual(expected);
  });
});
