// npm run bench:console — first load of the console on loopback: a fresh browser context (empty
// HTTP cache) opens the policies page of a signed-in session, until the first policy's activation
// line is on screen. Real headless Chromium (the e2e tests' helper), the service in process.
// Prints the machine, then the median and worst of --runs loads, with requests and bytes.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../test/helpers/console-browser.js';
import { ADMIN_TOKEN, startProxyHarness } from '../test/helpers/proxy-harness.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);

const h = await startProxyHarness({ filePolicies: [{ id: 'strict', name: 'Strict', coolingOffDays: 7 }] });
const base = await h.listen();
const browser = await chromium.launch({
  executablePath: chromiumPath(),
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const signIn = await browser.newContext();
  const res = await signIn.request.post(`${base}/-/lockwarden/console/session`, {
    data: { token: ADMIN_TOKEN },
  });
  if (res.status() !== 201) throw new Error(`sign-in failed: ${res.status()}`);
  const cookies = await signIn.cookies();
  await signIn.close();

  const times: number[] = [];
  let requests = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    await context.addCookies(cookies);
    const page = await context.newPage();
    const sizes: Promise<number>[] = [];
    page.on('requestfinished', (r) => {
      sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
    });
    const started = performance.now();
    await page.goto(`${base}/-/lockwarden/console/policies`);
    await page.getByLabel('Activation line').first().waitFor();
    times.push(performance.now() - started);
    requests = sizes.length;
    bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    await context.close();
  }
  times.sort((a, b) => a - b);
  const cpu = cpus();
  console.log(
    `machine: ${cpu[0]?.model} x${cpu.length}, node ${process.version}, ${await browser.version()}`,
  );
  console.log(
    `console first load (cold cache, to the activation line): median ${times[Math.floor(runs / 2)]!.toFixed(0)} ms, worst ${times[runs - 1]!.toFixed(0)} ms over ${runs} loads; ${requests} requests, ${(bytes / 1024).toFixed(1)} KB on the wire (headers included)`,
  );
} finally {
  await browser.close();
  await h.close();
}
