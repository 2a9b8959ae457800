// The console in a real browser (Debian's chromium through playwright-core): sign in, create a
// policy from the Production template in five steps, read its activation line, install through it
// with the real npm (the typosquat `expres`, and a lockfile pinned to a version inside the
// cooling-off window), and see both refusals arrive in the audit log page without a reload.
// axe-core checks every page (serious and critical violations fail), CSP violations fail, and the
// screenshots in docs/console/ are taken here (LOCKWARDEN_UPDATE_SCREENSHOTS=1 writes them there).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSandbox } from '../helpers/client-sandbox.js';
import {
  type ConsoleBrowser,
  openConsoleBrowser,
  SCREENSHOT_DIR,
  seriousAxeViolations,
} from '../helpers/console-browser.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { ADMIN_TOKEN, type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const SHOTS = SCREENSHOT_DIR;
const leftPad = makePackument({
  name: 'left-pad',
  versions: [
    { version: '1.0.0', publishedAt: new Date(daysAgo(60)) },
    { version: '1.3.0', publishedAt: new Date(daysAgo(2)) },
  ],
});
const { project, clientEnv, run, cleanup } = clientSandbox();
let h: ProxyHarness;
let base: string;
let b: ConsoleBrowser;
let page: Page;
let registry: string;
/** Full page loads of the console: the audit log must update without one. */
let loads = 0;
/** Requests for a page of the audit log: live rows must come from the feed, not a new list. */
let auditLists = 0;
/** The project whose lockfile pins left-pad@1.3.0, refused until the policy allows it. */
let pinned: string;

beforeAll(async () => {
  h = await startProxyHarness({
    packuments: [leftPad],
    downloads: { 'left-pad': 50_000, express: 35_000_000 },
    filePolicies: [{ id: 'ci-strict', name: 'CI strict', coolingOffDays: 30 }],
    now: NOW,
  });
  base = await h.listen();
  b = await openConsoleBrowser();
  page = b.page;
  page.on('load', () => loads++);
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/-/lockwarden/v1/audit') auditLists++;
  });
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await b?.close();
  await h?.close();
  await cleanup();
});

async function accessible(what: string) {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${what}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
  expect(b.problems, what).toEqual([]);
}

async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function heading(name: string | RegExp) {
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** Waits for a row of the audit table that mentions `text`. */
async function rowAppears(text: string): Promise<void> {
  await page
    .getByRole('table', { name: 'Audit log' })
    .getByRole('row')
    .filter({ hasText: text })
    .first()
    .waitFor();
}

describe('the console journey', () => {
  it('signs in with the admin token (keyboard only) and lists the policies', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('Admin token').waitFor();
    expect(page.url()).toBe(`${base}/-/lockwarden/console/`);
    await accessible('sign-in');
    await shot('sign-in');
    await page.getByLabel('Admin token').fill('lwc_not-an-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/not the admin token/)
      .waitFor();
    // Keyboard only: focus the field, type, Enter submits.
    await page.getByLabel('Admin token').fill('');
    await page.getByLabel('Admin token').focus();
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await heading('Policies');
    const strict = page.getByRole('article', { name: /CI strict/ });
    expect(await strict.getByLabel('Activation line').textContent()).toBe(
      `NPM_CONFIG_REGISTRY=${base}/ci-strict/`,
    );
    await strict.getByText(/Read-only: loaded from policies\/ci-strict\.json/).waitFor();
    await strict.getByText('Snippets for Docker, .npmrc and the GitHub Action').click();
    expect(await strict.getByLabel('Dockerfile').textContent()).toBe(
      `ENV NPM_CONFIG_REGISTRY=${base}/ci-strict/`,
    );
    await accessible('policies');
    // On a fresh load the first Tab reaches the skip link, then the navigation.
    await page.goto(`${base}/-/lockwarden/console/policies`);
    await heading('Policies');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
  });

  it('creates a policy from the Production template in five steps, with the engine validating each', async () => {
    await page.getByRole('button', { name: 'New policy' }).click();
    await heading('New policy');
    expect(await page.getByLabel('Production', { exact: true }).isChecked()).toBe(true);
    await accessible('new policy: template');
    await shot('policy-template');
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Step 1 of 5: General details' }).waitFor();
    await page.getByLabel('Name').fill('Web production');
    expect(await page.getByLabel('Policy id').inputValue()).toBe('web-production');
    await page.getByLabel('Description').fill('What the web image installs');
    await accessible('step 1');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 2 of 5: Action' }).waitFor();
    expect(await page.getByLabel('Block', { exact: true }).isChecked()).toBe(true);
    await page.getByText(/Block: versions that break a rule are hidden/).waitFor();
    await accessible('step 2');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 3 of 5: Thresholds' }).waitFor();
    expect(await page.getByLabel('Cooling-off period (days)').inputValue()).toBe('14');
    expect(await page.getByLabel('Minimum weekly downloads').inputValue()).toBe('1000');
    expect(await page.getByLabel('Typosquatting').isChecked()).toBe(true);
    expect(await page.getByLabel('Suspicious version').isChecked()).toBe(true);
    expect(await page.getByLabel('When facts are unavailable').inputValue()).toBe('alert');
    // The engine's message appears at the field it concerns, and the step does not advance.
    await page.getByLabel('Cooling-off period (days)').fill('-3');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('expected a number >= 0 (days; 0 disables), got -3').waitFor();
    expect(await page.getByLabel('Cooling-off period (days)').getAttribute('aria-invalid')).toBe('true');
    await accessible('step 3 with an error');
    await shot('policy-thresholds');
    await page.getByLabel('Cooling-off period (days)').fill('14');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 4 of 5: Allow & block lists' }).waitFor();
    await page.getByRole('button', { name: 'Add block entry' }).click();
    const entry = page.getByRole('group', { name: 'Block list entry 1' });
    await entry.getByLabel('Package').fill('event-stream@3.3.6');
    await entry.getByLabel('Reason').fill('compromised release');
    await entry.getByLabel('Expires').fill('2027-12-31');
    await page.getByRole('button', { name: 'Add allow entry' }).click();
    const allow = page.getByRole('group', { name: 'Allow list entry 1' });
    await allow.getByLabel('Package').fill('left pad@1.3.0');
    await page.getByRole('button', { name: 'Next' }).click();
    await allow.getByText(/expected a package name, "@scope\/\*", a glob/).waitFor();
    expect(await allow.getByLabel('Package').getAttribute('aria-invalid')).toBe('true');
    await accessible('step 4 with an error');
    await shot('policy-lists');
    await page.getByRole('button', { name: 'Remove allow entry 1' }).click();
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 5 of 5: Save' }).waitFor();
    await page.getByText('event-stream@3.3.6').waitFor();
    await accessible('step 5');
    await page.getByRole('button', { name: 'Save policy' }).click();

    await heading('Policies');
    const card = page.getByRole('article', { name: /Web production/ });
    await card.getByText('What the web image installs', { exact: true }).waitFor();
    const line = await card.getByLabel('Activation line').textContent();
    expect(line).toBe(`NPM_CONFIG_REGISTRY=${base}/web-production/`);
    registry = line!.slice('NPM_CONFIG_REGISTRY='.length);
    await page.getByRole('status').filter({ hasText: 'Policy web-production saved' }).waitFor();
    expect(
      await card
        .getByText(
          /14 days cooling-off · ≥ 1,000 weekly downloads · typosquatting on · suspicious version on/,
        )
        .count(),
    ).toBe(1);
    await accessible('policies after save');
    await shot('policies');
    // What the service now enforces is what the console saved.
    const stored = (await h.admin('GET', '/policies/web-production')).json().policy;
    expect(stored).toMatchObject({
      action: 'block',
      coolingOffDays: 14,
      minWeeklyDownloads: 1000,
      typosquatting: true,
      suspiciousVersion: true,
      block: [{ package: 'event-stream@3.3.6', reason: 'compromised release', expires: '2027-12-31' }],
    });
  });

  // The rows come through the live feed (no page load, no request for the list again); how soon is
  // the feed's poll interval, held to 2 s on a fake clock in test/unit/audit-feed.test.ts: a
  // wall-clock bound here can fail on a loaded machine.
  it('shows both refusals of real npm installs through the new line in the audit log as they happen, without a reload', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading('Audit log');
    await page.getByText('Live: new entries appear at the top').waitFor();
    await page.getByText('No entries yet.').waitFor();
    await accessible('audit log, empty');
    const loadsBefore = loads;
    const listsBefore = auditLists;

    const typo = await project();
    const squat = await run('npm', ['install', 'expres'], typo, await clientEnv(registry));
    expect(squat.code).not.toBe(0);
    expect(squat.stderr).toMatch(/403/);
    expect(squat.stderr).toMatch(/expres looks like express/);
    await rowAppears('expres');

    pinned = await project({ dependencies: { 'left-pad': '1.3.0' } });
    await writeFile(
      join(pinned, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } },
          'node_modules/left-pad': {
            version: '1.3.0',
            resolved: `${registry}left-pad/-/left-pad-1.3.0.tgz`,
            integrity: leftPad.versions['1.3.0']!.dist!.integrity,
          },
        },
      }),
    );
    const young = await run('npm', ['ci'], pinned, await clientEnv(registry));
    expect(young.code).not.toBe(0);
    expect(young.stderr).toMatch(/left-pad@1\.3\.0 was published 2 days ago \(cooling-off 14 days\)/);
    await rowAppears('left-pad@1.3.0');
    expect(loads).toBe(loadsBefore);
    expect(auditLists).toBe(listsBefore);

    const table = page.getByRole('table', { name: 'Audit log' });
    const youngRow = table.getByRole('row').filter({ hasText: 'left-pad@1.3.0' }).first();
    await youngRow.getByText('blocked').waitFor();
    await youngRow.getByText(/Wait until the date in the reason/).waitFor();
    await youngRow.getByText(/^npm\//).waitFor();
    const squatRow = table.getByRole('row').filter({ hasText: 'expres' }).first();
    await squatRow.getByText(/looks like express/).waitFor();
    // Newest first.
    const first = await table.getByRole('row').nth(1).textContent();
    expect(first).toContain('left-pad@1.3.0');
    await accessible('audit log with entries');
    await shot('audit-log');

    // Filters narrow the table; export links carry them.
    await page.getByLabel('Rule').selectOption('typosquatting');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/rule=typosquatting/);
    await table.getByRole('row').filter({ hasText: 'expres' }).first().waitFor();
    // The filtered page replaces the unfiltered one: the left-pad row goes.
    await table.getByRole('row').filter({ hasText: 'left-pad' }).first().waitFor({ state: 'detached' });
    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await page.evaluate((url) => fetch(url!).then((r) => r.text()), csvHref);
    expect(csv.split('\r\n')[0]).toBe(
      'id,time,policy,label,source,package,version,rule,outcome,reason,userAgent',
    );
    expect(csv).toContain(',expres,');
    expect(csv).not.toContain('left-pad');
  });

  it('tries a package under a policy with the verdict an install gets', async () => {
    await page.getByRole('link', { name: 'Try a package' }).click();
    await heading('Try a package');
    await page.getByLabel('Package').fill('left-pad@1.3.0');
    await page.getByLabel('Policy').selectOption('web-production');
    await page.getByRole('button', { name: 'Try' }).click();
    const result = page.getByRole('region', { name: /left-pad@1\.3\.0/ });
    await result.getByText('Blocked', { exact: true }).waitFor();
    await result
      .getByText(/cooling-off 14 days/)
      .first()
      .waitFor();
    await result
      .getByText(/How to get past it/)
      .first()
      .waitFor();
    await accessible('try a package');
    await shot('try-package');
    await page.getByLabel('Package').fill('left-pad');
    await page.getByRole('button', { name: 'Try' }).click();
    await page
      .getByRole('region', { name: /left-pad@1\.0\.0/ })
      .getByText(/Allowed/)
      .first()
      .waitFor();
  });

  it('issues a check token once, lists it and revokes it', async () => {
    await page.getByRole('link', { name: 'Check tokens' }).click();
    await heading('Check tokens');
    await page.getByText('No issued tokens.').waitFor();
    await page.getByLabel('Name').fill('ci-web');
    await page.getByLabel('Only these:').check();
    await page.getByLabel('web-production').check();
    await page.getByRole('button', { name: 'Issue token' }).click();
    const token = await page.locator('#issued-token').textContent();
    expect(token).toMatch(/^lwc_/);
    const check = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies/web-production/check',
      headers: { authorization: `Bearer ${token}` },
      body: { packages: [{ name: 'left-pad', version: '1.0.0' }] },
    });
    expect(check.status).toBe(200);
    await page.getByRole('cell', { name: 'ci-web', exact: true }).waitFor();
    await accessible('check tokens');
    await shot('check-tokens');
    await page.getByRole('button', { name: 'Revoke ci-web' }).click();
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText('No issued tokens.').waitFor();
    const after = await h.request({
      method: 'POST',
      url: '/-/lockwarden/v1/policies/web-production/check',
      headers: { authorization: `Bearer ${token}` },
      body: { packages: [{ name: 'left-pad', version: '1.0.0' }] },
    });
    expect(after.status).toBe(401);
  });

  it('gets past a refusal from its audit entry: the allow link opens the lists filled in, and the install passes', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading('Audit log');
    const row = page
      .getByRole('table', { name: 'Audit log' })
      .getByRole('row')
      .filter({ hasText: 'left-pad@1.3.0' })
      .first();
    await row.getByRole('link', { name: /Allow in web-production/ }).click();
    await heading('Edit policy web-production');
    await page.getByRole('heading', { name: 'Step 4 of 5: Allow & block lists' }).waitFor();
    const allow = page.getByRole('group', { name: 'Allow list entry 1' });
    expect(await allow.getByLabel('Package').inputValue()).toBe('left-pad@1.3.0');
    await allow.getByLabel('Reason').fill('reviewed the 1.3.0 diff');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await heading('Policies');
    await page.getByRole('status').filter({ hasText: 'Policy web-production saved' }).waitFor();
    expect((await h.admin('GET', '/policies/web-production')).json().policy.allow).toEqual([
      { package: 'left-pad@1.3.0', reason: 'reviewed the 1.3.0 diff' },
    ]);
    const again = await run('npm', ['ci'], pinned, await clientEnv(registry));
    expect(again.code, again.stderr).toBe(0);
  });

  it('deletes a stored policy after asking once more', async () => {
    expect((await h.admin('POST', '/policies', { id: 'scratch', name: 'Scratch' })).status).toBe(201);
    await page.reload();
    const card = page.getByRole('article', { name: /Scratch/ });
    await card.getByRole('button', { name: 'Delete scratch' }).click();
    await card.getByRole('button', { name: 'Delete', exact: true }).click();
    await card.waitFor({ state: 'detached' });
    expect((await h.admin('GET', '/policies/scratch')).status).toBe(404);
  });

  it('fits a 375 px wide screen on every page', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ['policies', 'policies/new', 'audit', 'try', 'tokens']) {
      await page.goto(`${base}/-/lockwarden/console/${path}`);
      await page.locator('main h1').waitFor();
      const overflow = Number(
        await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
      );
      expect(overflow, path).toBeLessThanOrEqual(0);
      await accessible(`${path} at 375 px`);
    }
    await page.goto(`${base}/-/lockwarden/console/policies`);
    await heading('Policies');
    await shot('policies-375');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('signs out, and the session is over', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.getByText('Signed out.').waitFor();
    const status = await page.evaluate(() => fetch('/-/lockwarden/v1/policies').then((r) => r.status));
    expect(status).toBe(401);
  });
});
