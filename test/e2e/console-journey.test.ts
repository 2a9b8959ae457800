// The console in a real browser: sign in, create a policy from the Production template in five
// steps, read its activation line, install through it with the real npm (a typosquat and a version
// inside the cooling-off window), and watch both refusals arrive in the audit log page without a
// reload. axe-core checks every page; screenshots for docs/console.md are taken here.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, openConsoleBrowser, seriousAxeViolations } from '../helpers/console-browser.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { ADMIN_TOKEN, type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const SHOTS = resolve('docs/console');
let h: ProxyHarness;
let base: string;
let b: ConsoleBrowser;

beforeAll(async () => {
  h = await startProxyHarness({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.0.0', publishedAt: new Date(daysAgo(60)) },
          { version: '1.3.0', publishedAt: new Date(daysAgo(2)) },
        ],
      }),
    ],
    downloads: { 'left-pad': 50_000, express: 35_000_000 },
    filePolicies: [{ id: 'ci-strict', name: 'CI strict', coolingOffDays: 30 }],
    now: NOW,
  });
  base = await h.listen();
  b = await openConsoleBrowser();
  await mkdir(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await b?.close();
  await h?.close();
});

async function checkAccessibility(what: string) {
  const violations = await seriousAxeViolations(b.page);
  expect(violations, `${what}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
}

async function shot(name: string) {
  await b.page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('the console journey', () => {
  it('signs in with the admin token and lists the policies', async () => {
    const { page } = b;
    await page.goto(`${base}/`);
    await page.getByLabel('Admin token').waitFor();
    expect(page.url()).toBe(`${base}/-/lockwarden/console/`);
    await checkAccessibility('sign-in');
    await shot('sign-in');
    await page.getByLabel('Admin token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/not the admin token/)
      .waitFor();
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    const strict = page.getByRole('article', { name: /CI strict/ });
    expect(await strict.getByLabel('Activation line').textContent()).toBe(
      `NPM_CONFIG_REGISTRY=${base}/ci-strict/`,
    );
    await strict.getByText(/Read-only: loaded from/).waitFor();
    await checkAccessibility('policies');
    await shot('policies');
    expect(b.problems).toEqual([]);
  });
});
