// Two `lockwarden serve` processes on one real PostgreSQL act as one service: a policy created
// through replica A's admin API is enforced by replica B for the real npm client, a change to it
// reaches B, and one audit query on either returns both replicas' entries. How fast a change
// reaches another replica is measured by `npm run bench:audit-log`, not decided here.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { runNpm } from '../helpers/run-npm.js';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.js';
import { startPostgres, type TestPostgres } from '../helpers/start-postgres.js';

const TOKEN = 'replicas-admin-token';
const DAY = 86_400_000;
let pgServer: TestPostgres;
let registry: FakeRegistry;
let downloads: FakeDownloads;
let dir: string;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-replicas-'));
  pgServer = await startPostgres();
  const databaseUrl = await pgServer.createDatabase();
  // The replicas run on the real clock: publish times are relative to it.
  const ago = (days: number) => new Date(Date.now() - days * DAY);
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.0.0', publishedAt: ago(60) },
          { version: '1.1.0', publishedAt: ago(30) },
          { version: '1.2.0', publishedAt: ago(2) },
        ],
      }),
    ],
  });
  downloads = await startFakeDownloads({ counts: { 'left-pad': 5_000_000 } });
  const replica = (name: string) =>
    startServeProcess({
      cwd: dir,
      args: [
        '--data',
        join(dir, name),
        '--upstream',
        registry.url,
        '--database-url',
        databaseUrl,
        '--no-prefetch',
      ],
      env: {
        LOCKWARDEN_ADMIN_TOKEN: TOKEN,
        LOCKWARDEN_DOWNLOADS_URL: downloads.url,
        LOCKWARDEN_LOG_LEVEL: 'warn',
        GITHUB_API_URL: 'http://127.0.0.1:9/',
      },
    });
  [a, b] = await Promise.all([replica('a'), replica('b')]);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await registry?.close();
  await downloads?.close();
  await pgServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

const admin = async (replica: ServeProcess, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${replica.url}/-/lockwarden/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> };
};

async function npm(args: string[], cwd: string, registryUrl: string, home: string) {
  const { code, stdout, stderr } = await runNpm(args, { cwd, registryUrl, home });
  return { code, output: stdout + stderr };
}

describe('two replicas on one PostgreSQL', () => {
  it('enforce a policy created through one of them for npm installing through the other', async () => {
    const created = await admin(a, 'POST', '/policies', { id: 'team', coolingOffDays: 7 });
    expect(created.status).toBe(201);

    const project = await mkdtemp(join(dir, 'project-'));
    const home = await mkdtemp(join(dir, 'home-'));
    await writeFile(join(home, '.npmrc'), '');
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
    );
    // B learned of the policy through NOTIFY: no restart, no request to A.
    const installed = await npm(['install', 'left-pad'], project, `${b.url}/team~ci-b/`, home);
    expect(installed.code, installed.output).toBe(0);
    const pkg = JSON.parse(await readFile(join(project, 'node_modules', 'left-pad', 'package.json'), 'utf8'));
    expect(pkg.version).toBe('1.1.0');

    // The hidden 1.2.0 was logged by B; A answers the same query with it.
    const logged = await admin(a, 'GET', '/audit?policy=team&label=ci-b');
    expect(logged.json.entries).toEqual([
      expect.objectContaining({
        package: 'left-pad',
        version: '1.2.0',
        outcome: 'hidden',
        rule: 'cooling-off',
      }),
    ]);

    // An edit through A reaches B at once (NOTIFY; the bench measures the delay, the test gives a
    // shared machine slack: B has no other way to hear of it, no reload timer).
    expect((await admin(a, 'PUT', '/policies/team', { coolingOffDays: 1 })).status).toBe(200);
    await expect
      .poll(
        async () => {
          const res = await fetch(`${b.url}/team/left-pad`);
          return ((await res.json()) as { 'dist-tags': { latest: string } })['dist-tags'].latest;
        },
        { timeout: 15_000, interval: 50 },
      )
      .toBe('1.2.0');

    // A check token issued by B works on A; a deletion through B stops A serving the policy.
    const issued = await admin(b, 'POST', '/check-tokens', { name: 'ci', policies: ['team'] });
    const check = await fetch(`${a.url}/-/lockwarden/v1/policies/team/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${issued.json.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packages: [{ name: 'left-pad', version: '1.2.0' }] }),
    });
    expect(check.status).toBe(200);
    expect((await admin(b, 'DELETE', '/policies/team')).status).toBe(204);
    await expect
      .poll(async () => (await fetch(`${a.url}/team/left-pad`)).status, { timeout: 15_000, interval: 50 })
      .toBe(404);
  });
});
