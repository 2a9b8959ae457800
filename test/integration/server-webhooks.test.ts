// Webhooks and metrics of `lockwarden serve`, in process, with a pinned clock: the admin API,
// signed deliveries of refusals (Standard Webhooks), coalescing, the 24-hour retry schedule and
// dead letters, no redirects, the address check, the Slack and Teams formats, and /metrics read
// with a Prometheus text parser. Delivery rounds are run by the test (`runOnce`), never by a timer.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { COALESCE_WINDOW_MS } from '../../server/webhook-hub.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';
import { signatureMatches, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const STRICT = { id: 'strict', coolingOffDays: 7, typosquatting: true };
const HOUR = 3_600_000;

let h: ProxyHarness;
const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await h?.close();
  while (receivers.length > 0) await receivers.pop()!.stop();
});

async function start(app: Record<string, unknown> = {}) {
  h = await startProxyHarness({
    filePolicies: [STRICT],
    app: { allowPrivateWebhooks: true, webhookPollMs: 0, ...app },
  });
  return h;
}

async function receiver() {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

async function subscribe(body: Record<string, unknown>) {
  const res = await h.admin('POST', '/webhooks', body);
  expect(res.status, res.text).toBe(201);
  return res.json() as { id: string; secret: string };
}

const refuse = (ua = 'npm/11.0.0 node/v22') =>
  h.request({ url: '/strict~api/expres', headers: { 'user-agent': ua } });
const deliver = () => h.service.webhooks.delivery.runOnce();

describe('webhook subscriptions in the admin API', () => {
  it('creates one with its secret shown once, lists it with its delivery state, deletes it', async () => {
    await start();
    const r = await receiver();
    const created = await subscribe({
      url: r.url,
      events: ['block'],
      policies: ['strict'],
      format: 'standard',
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^wh_/),
      url: r.url,
      events: ['block'],
      policies: ['strict'],
      format: 'standard',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
      delivery: { pending: 0, dead: 0 },
    });
    const listed = (await h.admin('GET', '/webhooks')).json().webhooks;
    expect(listed).toEqual([expect.objectContaining({ id: created.id, url: r.url })]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect((await h.admin('GET', `/webhooks/${created.id}`)).json()).not.toHaveProperty('secret');

    expect((await h.admin('DELETE', `/webhooks/${created.id}`)).status).toBe(204);
    expect((await h.admin('DELETE', `/webhooks/${created.id}`)).status).toBe(404);
    expect((await h.admin('GET', '/webhooks')).json().webhooks).toEqual([]);
    // Without the admin token: nothing.
    expect((await h.request({ url: '/-/lockwarden/v1/webhooks' })).status).toBe(401);
  });

  it('says what is wrong with a subscription, field by field', async () => {
    await start();
    const res = await h.admin('POST', '/webhooks', {
      url: 'ftp://hooks.example.test/x',
      events: ['block', 'explode'],
      policies: ['nope'],
      format: 'discord',
      extra: 1,
    });
    expect(res.status).toBe(400);
    expect(res.json().problems).toEqual([
      'extra: unknown field',
      'url: must be http(s), not ftp:',
      'events: a non-empty list of "block", "alert", "unavailable", "policy.changed"',
      'policies: no policy "nope"',
      'format: one of "standard", "slack", "teams"',
    ]);
  });

  it('sends a signed test delivery and answers with what the receiver said', async () => {
    await start();
    const r = await receiver();
    const { id, secret } = await subscribe({ url: r.url });
    const res = await h.admin('POST', `/webhooks/${id}/test`);
    expect(res.json()).toMatchObject({ delivered: true, status: 204, error: null });
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.json).toMatchObject({ type: 'webhook.test' });
    expect(signatureMatches(r.received[0]!, secret)).toBe(true);
    r.answer = { status: 503 };
    expect((await h.admin('POST', `/webhooks/${id}/test`)).json()).toMatchObject({
      delivered: false,
      status: 503,
      error: 'answered 503',
    });
  });
});

describe('delivery', () => {
  it('delivers a refusal as a Standard Webhooks message the receiver can verify', async () => {
    await start();
    const r = await receiver();
    const { secret } = await subscribe({ url: r.url, events: ['block'] });
    expect((await refuse()).status).toBe(403);
    // The refusal was answered after its message was in the outbox; delivery is a later round.
    expect(r.received).toEqual([]);
    expect(await deliver()).toBe(1);
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toMatch(/^msg_/);
    expect(got.headers['webhook-timestamp']).toBe(String(h.clock.now.getTime() / 1000));
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(signatureMatches(got, secret)).toBe(true);
    expect(signatureMatches({ ...got, body: got.body.replace('expres', 'expresx') }, secret)).toBe(false);
    expect(got.json).toEqual({
      type: 'block',
      timestamp: h.clock.now.toISOString(),
      data: {
        policy: 'strict',
        label: 'api',
        userAgent: 'npm/11.0.0 node/v22',
        source: 'registry',
        name: 'expres',
        version: null,
        rule: 'typosquatting',
        outcome: 'blocked',
        message: expect.stringMatching(/^expres looks like express/),
        hint: expect.stringContaining('if you meant express'),
        time: h.clock.now.toISOString(),
        count: 1,
        firstSeen: h.clock.now.toISOString(),
        lastSeen: h.clock.now.toISOString(),
      },
    });
    const state = (await h.admin('GET', '/webhooks')).json().webhooks[0].delivery;
    expect(state).toMatchObject({ pending: 0, delivered: 1, lastStatus: 204, lastError: null });
  });

  it('sends repeats of one refusal as one message per 10 minutes with their count', async () => {
    await start();
    const r = await receiver();
    await subscribe({ url: r.url, events: ['block'] });
    await refuse();
    await deliver();
    for (let i = 0; i < 5; i++) {
      h.clock.advance(60_000);
      expect((await refuse(`npm/11.${i}`)).status).toBe(403);
    }
    await h.service.webhooks.hub.flush();
    await deliver();
    expect(r.received).toHaveLength(1);
    h.clock.advance(COALESCE_WINDOW_MS - 5 * 60_000 - 1);
    await deliver();
    expect(r.received).toHaveLength(1);
    h.clock.advance(1);
    await deliver();
    expect(r.received.map((m) => m.json.data.count)).toEqual([1, 5]);
    expect(r.received[1]!.headers['webhook-id']).not.toBe(r.received[0]!.headers['webhook-id']);
  });

  it('retries with backoff for at least 24 hours, then keeps a dead letter the API redelivers', async () => {
    await start();
    const r = await receiver();
    const { id } = await subscribe({ url: r.url, events: ['block'] });
    r.answer = { status: 500 };
    await refuse();
    const attempts: number[] = [];
    const started = h.clock.now.getTime();
    for (let i = 0; i < 40 * 60 && r.received.length < 20; i++) {
      const before = r.received.length;
      await deliver();
      if (r.received.length > before) attempts.push(h.clock.now.getTime() - started);
      h.clock.advance(60_000);
    }
    expect(attempts.length).toBe(11);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // 10 s × 4^n, at most 6 h, plus up to 25% jitter (the test's clock moves a minute at a time).
    gaps.forEach((gap, i) => {
      const bare = Math.min(10_000 * 4 ** i, 6 * HOUR);
      expect(gap).toBeGreaterThanOrEqual(bare);
      expect(gap).toBeLessThanOrEqual(bare * 1.25 + 60_000);
    });
    expect(attempts.at(-1)! - attempts[0]!).toBeGreaterThanOrEqual(24 * HOUR);
    // Every attempt was the same message (same id, so the receiver can drop duplicates).
    expect(new Set(r.received.map((m) => m.headers['webhook-id'])).size).toBe(1);

    const dead = (await h.admin('GET', `/webhooks/${id}/dead-letters`)).json().deadLetters;
    expect(dead).toEqual([
      expect.objectContaining({ type: 'block', attempts: 11, lastStatus: 500, lastError: 'answered 500' }),
    ]);
    expect((await h.admin('GET', '/webhooks')).json().webhooks[0].delivery).toMatchObject({
      dead: 1,
      pending: 0,
    });

    r.answer = { status: 200 };
    const again = await h.admin('POST', `/webhooks/${id}/dead-letters/${dead[0].id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.json()).toEqual({ requeued: 1 });
    await deliver();
    expect(r.received.at(-1)!.headers['webhook-id']).toBe(dead[0].id);
    expect((await h.admin('GET', `/webhooks/${id}/dead-letters`)).json().deadLetters).toEqual([]);
    expect((await h.admin('GET', '/webhooks')).json().webhooks[0].delivery).toMatchObject({
      dead: 0,
      pending: 0,
      delivered: 1,
    });
  });

  it('follows no redirect: a 3xx is a failed attempt and the other host hears nothing', async () => {
    await start();
    const r = await receiver();
    const elsewhere = await receiver();
    r.answer = { status: 307, headers: { location: elsewhere.url } };
    const { id } = await subscribe({ url: r.url, events: ['block'] });
    await refuse();
    await deliver();
    expect(r.received).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
    expect((await h.admin('GET', `/webhooks/${id}`)).json().delivery).toMatchObject({
      pending: 1,
      lastStatus: 307,
      lastError: 'answered 307 (a redirect); redirects are not followed',
    });
  });

  it('reports policy changes and CI blocks to the subscriptions that want them', async () => {
    await start();
    const r = await receiver();
    await subscribe({ url: r.url, events: ['policy.changed', 'block'], policies: ['*'] });
    expect((await h.admin('POST', '/policies', { id: 'team', typosquatting: true })).status).toBe(201);
    expect(
      (await h.admin('POST', '/policies/team/check', { packages: [{ name: 'expres', version: '1.0.0' }] }))
        .status,
    ).toBe(200);
    expect((await h.admin('DELETE', '/policies/team')).status).toBe(204);
    await deliver();
    const seen = r.received.map((m) => [m.json.type, m.json.data.change ?? m.json.data.source]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['policy.changed', 'created'],
        ['policy.changed', 'deleted'],
        ['block', 'ci'],
      ]),
    );
    // The check also finds expres@1.0.0 missing from the registry: a second block.
    expect(seen).toHaveLength(4);
  });

  it('sends an unavailable fact as `unavailable` and an alert-mode download as `alert`, to who asked', async () => {
    h = await startProxyHarness({
      packuments: [
        makePackument({
          name: 'left-pad',
          versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(40)) }],
        }),
        makePackument({
          name: 'fresh-pkg',
          versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(1)) }],
        }),
      ],
      filePolicies: [
        { id: 'pop', minWeeklyDownloads: 10, onUnavailable: 'block' },
        { id: 'watch', action: 'alert', coolingOffDays: 7 },
      ],
      app: { allowPrivateWebhooks: true, webhookPollMs: 0 },
    });
    const unavailable = await receiver();
    const alerts = await receiver();
    await subscribe({ url: unavailable.url, events: ['unavailable'], policies: ['pop'] });
    await subscribe({ url: alerts.url, events: ['alert'], policies: ['watch'] });
    h.downloads.fault({ kind: 'status', status: 500 });
    expect((await h.request({ url: '/pop/left-pad' })).status).toBe(403);
    expect((await h.request({ url: '/watch/fresh-pkg/-/fresh-pkg-1.0.0.tgz' })).status).toBe(200);
    await h.service.webhooks.hub.flush();
    await deliver();
    expect(unavailable.received.map((m) => [m.json.type, m.json.data.rule, m.json.data.name])).toEqual([
      ['unavailable', 'popularity', 'left-pad'],
    ]);
    expect(alerts.received.map((m) => [m.json.type, m.json.data.rule, m.json.data.version])).toEqual([
      ['alert', 'cooling-off', '1.0.0'],
    ]);
  });

  it('renders Slack and Teams messages with the same facts', async () => {
    await start();
    const slack = await receiver();
    const teams = await receiver();
    await subscribe({ url: slack.url, events: ['block'], format: 'slack' });
    await subscribe({ url: teams.url, events: ['block'], format: 'teams' });
    await refuse();
    await deliver();
    const s = slack.received[0]!.json;
    expect(s.text).toMatch(/^lockwarden blocked expres under policy "strict": expres looks like express/);
    expect(JSON.stringify(s.blocks)).toContain('*Rule*\\ntyposquatting');
    expect(JSON.stringify(s.blocks)).toContain('if you meant express');
    const card = teams.received[0]!.json.attachments[0];
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content.body[0].text).toBe('lockwarden blocked expres under policy "strict"');
    expect(card.content.body).toContainEqual({
      type: 'FactSet',
      facts: expect.arrayContaining([
        { title: 'Rule', value: 'typosquatting' },
        { title: 'Label', value: 'api' },
      ]),
    });
  });
});

describe('webhook addresses', () => {
  it('refuses loopback, private and mapped addresses without --allow-private-webhooks', async () => {
    await start({ allowPrivateWebhooks: false });
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[fd00::1]/x',
      'http://localhost:8080/x',
    ]) {
      const res = await h.admin('POST', '/webhooks', { url });
      expect(res.status, url).toBe(400);
      expect(res.json().problems[0], url).toMatch(/--allow-private-webhooks/);
    }
  });

  it('checks again at delivery time: a stored loopback URL is refused without connecting', async () => {
    await start({ allowPrivateWebhooks: false });
    const r = await receiver();
    // Made while the service allowed private receivers, then restarted without the flag.
    await h.service.store.webhooks.insert(
      {
        id: 'wh_old',
        url: r.url,
        events: ['block'],
        policies: ['*'],
        format: 'standard',
        description: null,
        secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0',
        createdAt: h.clock.now.toISOString(),
      },
      10,
    );
    await h.service.webhooks.hub.refresh();
    await refuse();
    await deliver();
    expect(r.received).toEqual([]);
    expect((await h.admin('GET', '/webhooks/wh_old')).json().delivery).toMatchObject({
      pending: 1,
      lastError: expect.stringMatching(/127\.0\.0\.1 is a loopback address/),
    });
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text and counts the refusal, verdicts, requests and deliveries', async () => {
    await start();
    const r = await receiver();
    await subscribe({ url: r.url, events: ['block'] });
    await refuse();
    const before = parsePrometheusTextFormat((await h.request({ url: '/metrics' })).text);
    const value = (families: typeof before, name: string, labels: Record<string, string> = {}) =>
      families
        .find((f) => f.name === name)
        ?.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
        .reduce((sum, m) => sum + Number(m.value ?? m.buckets?.['+Inf']), 0);
    expect(
      value(before, 'lockwarden_verdicts_total', {
        policy: 'strict',
        rule: 'typosquatting',
        outcome: 'blocked',
      }),
    ).toBe(1);
    expect(value(before, 'lockwarden_http_requests_total', { route: 'packument', status: '403' })).toBe(1);
    expect(value(before, 'lockwarden_webhook_backlog')).toBe(1);
    expect(before.find((f) => f.name === 'lockwarden_upstream_request_duration_seconds')?.type).toBe(
      'HISTOGRAM',
    );
    expect(value(before, 'lockwarden_upstream_request_duration_seconds', {})).toBeGreaterThan(0);
    expect(before.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'lockwarden_package_cache_hits_total',
        'lockwarden_package_cache_misses_total',
        'lockwarden_audit_commit_seconds',
        'lockwarden_webhook_deliveries_total',
      ]),
    );
    await deliver();
    await refuse();
    // A repeat is counted in the background (the refusal does not wait for it).
    await h.service.webhooks.hub.flush();
    const after = parsePrometheusTextFormat((await h.request({ url: '/metrics' })).text);
    expect(value(after, 'lockwarden_verdicts_total', { rule: 'typosquatting' })).toBe(2);
    expect(value(after, 'lockwarden_webhook_deliveries_total', { result: 'delivered', type: 'block' })).toBe(
      1,
    );
    expect(value(after, 'lockwarden_webhook_backlog')).toBe(1);
    expect(value(after, 'lockwarden_package_cache_hits_total')).toBeGreaterThanOrEqual(1);
  });

  it('needs the metrics token when one is set', async () => {
    await start({ metricsToken: 'scrape-me' });
    expect((await h.request({ url: '/metrics' })).status).toBe(401);
    expect((await h.request({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    const ok = await h.request({ url: '/metrics', headers: { authorization: 'Bearer scrape-me' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('delivery by the running service', () => {
  it('sends a refusal when it happens, not on the next poll', async () => {
    // Polling once an hour: only the wake-up a refusal gives the worker can deliver within the test.
    // (test/e2e/webhooks.test.ts shows the same through real npm; how soon is the bench's part, a
    // wall-clock bound there is what a loaded machine can exceed.)
    await start({ webhookPollMs: HOUR });
    const r = await receiver();
    await subscribe({ url: r.url, events: ['block'] });
    expect((await refuse()).status).toBe(403);
    await expect.poll(() => r.received.length, { timeout: 30_000, interval: 20 }).toBe(1);
    expect(r.received[0]!.json).toMatchObject({ type: 'block', data: { name: 'expres' } });
  });
});
