// The console's Webhooks page in a real browser (Debian's chromium through playwright-core): add a
// webhook (the secret shown once, and it verifies what the receiver gets), send a test delivery,
// see the delivery state, find a message that failed for 24 hours among the dead letters and
// redeliver it, delete the webhook. The service runs in process with a pinned clock, so the
// 24 hours of retries are clock steps, not waiting. axe-core and CSP checks as on every page.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleBrowser,
  openConsoleBrowser,
  SCREENSHOT_DIR,
  seriousAxeViolations,
} from '../helpers/console-browser.js';
import { NOW } from '../helpers/make-policy.js';
import { ADMIN_TOKEN, type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';
import { signatureMatches, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let h: ProxyHarness;
let base: string;
let b: ConsoleBrowser;
let page: Page;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startProxyHarness({
    filePolicies: [{ id: 'strict', typosquatting: true }],
    now: NOW,
    app: { allowPrivateWebhooks: true, webhookPollMs: 0 },
  });
  base = await h.listen();
  receiver = await startWebhookReceiver();
  b = await openConsoleBrowser();
  page = b.page;
});

afterAll(async () => {
  await b?.close();
  await h?.close();
  await receiver?.stop();
});

async function accessible(what: string) {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${what}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
  expect(b.problems, what).toEqual([]);
}

/** Opens the Webhooks page, signing in first (sessions end after 12 hours of the service's clock). */
async function openWebhooks() {
  await page.goto(`${base}/-/lockwarden/console/webhooks`);
  const token = page.getByLabel('Admin token');
  const heading = page.getByRole('heading', { level: 1, name: 'Webhooks' });
  await Promise.race([token.waitFor(), heading.waitFor()]);
  if (await token.isVisible()) {
    await token.fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await heading.waitFor();
}

describe('the Webhooks page', () => {
  it('adds a webhook, shows its secret once and sends a signed test delivery', async () => {
    await page.goto(`${base}/-/lockwarden/console/`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await accessible('webhooks, empty');

    await page.getByLabel('Receiver URL').fill(receiver.url);
    await page.getByLabel('Only these:').check();
    await page.getByLabel('strict').check();
    await page.getByLabel('Description (optional)').fill('security alerts');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = String(await page.locator('#webhook-secret').textContent());
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('heading', { level: 2, name: 'security alerts' }).waitFor();
    await accessible('webhooks, created');

    await page.getByRole('button', { name: 'Send test to security alerts' }).click();
    await page.getByText(/Test delivered: the receiver answered 204/).waitFor();
    expect(receiver.received).toHaveLength(1);
    expect(signatureMatches(receiver.received[0]!, secret)).toBe(true);
    // Once stored, the secret is gone from the page (and no API answer has it again).
    await page.getByRole('button', { name: 'I stored it' }).click();
    expect(await page.locator('#webhook-secret').count()).toBe(0);
  });

  it('shows a message that failed for 24 hours among the dead letters and redelivers it', async () => {
    receiver.answer = { status: 500 };
    expect((await h.request({ url: '/strict/expres' })).status).toBe(403);
    for (let i = 0; i < 40 * 60; i++) {
      await h.service.webhooks.delivery.runOnce();
      h.clock.advance(60_000);
    }
    // A day and more of the service's clock later: a new session.
    await openWebhooks();
    const state = page.getByRole('article', { name: 'security alerts' });
    await state.getByText(/1 dead letter/).waitFor();
    await state.getByText(/last attempt failed \(answered 500\)/).waitFor();
    await page.getByRole('button', { name: 'Dead letters (1) of security alerts' }).click();
    const row = page.getByRole('row').filter({ hasText: 'expres (typosquatting, strict)' });
    await row.waitFor();
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('11');
    await accessible('webhooks, dead letters');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'webhooks.png'), fullPage: true });

    receiver.answer = { status: 204 };
    const before = receiver.received.length;
    await row.getByRole('button', { name: /^Redeliver/ }).click();
    await page.getByText('1 message queued again.').waitFor();
    await page.getByText('No dead letters.').waitFor();
    await h.service.webhooks.delivery.runOnce();
    expect(receiver.received.length).toBe(before + 1);
    expect(receiver.received.at(-1)!.json).toMatchObject({ type: 'block', data: { name: 'expres' } });
  });

  it('fits a 375 px wide screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await openWebhooks();
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await accessible('webhooks at 375 px');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('deletes the webhook after asking once more', async () => {
    await page.getByRole('button', { name: 'Delete security alerts' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('No webhooks yet.').waitFor();
    expect((await h.admin('GET', '/webhooks')).json().webhooks).toEqual([]);
  });
});
