// kill -9 under load: every refusal and every packument with hidden versions the service answered
// is in the audit log after a restart, and no id is handed out twice. Responses that log are sent
// only once their entries are committed (group commit with fsync), so the window a crash can lose
// holds no acknowledged entry at all. (npm run bench:audit-log prints the same counts at 64
// connections.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.js';

const TOKEN = 'crash-test-admin-token';
let dir: string;
let registry: FakeRegistry;
let downloads: FakeDownloads;
const running: ServeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-crash-'));
  // The service runs on the real clock: 1.1.0 is in its cooling-off window, so hidden.
  const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: Array.from({ length: 50 }, (_, i) =>
      makePackument({
        name: `fresh-${i}`,
        versions: [
          { version: '1.0.0', publishedAt: ago(300) },
          { version: '1.1.0', publishedAt: ago(1) },
        ],
        distTags: { latest: '1.0.0' },
      }),
    ),
  });
  downloads = await startFakeDownloads({ counts: {} });
  await writeFile(
    join(dir, 'crash.json'),
    JSON.stringify({ id: 'crash', block: ['evil-*'], coolingOffDays: 7, typosquatting: false }),
  );
});
afterAll(async () => {
  for (const p of running) await p.kill();
  await registry?.close();
  await downloads?.close();
  await rm(dir, { recursive: true, force: true });
});

const serve = async () => {
  const p = await startServeProcess({
    cwd: dir,
    args: [
      '--data',
      join(dir, 'data'),
      '--upstream',
      registry.url,
      '--policy',
      join(dir, 'crash.json'),
      '--no-prefetch',
      '--log-level',
      'silent',
    ],
    env: {
      LOCKWARDEN_ADMIN_TOKEN: TOKEN,
      LOCKWARDEN_DOWNLOADS_URL: downloads.url,
      GITHUB_API_URL: 'http://127.0.0.1:9/',
    },
  });
  running.push(p);
  return p;
};

interface Logged {
  id: number;
  package: string;
  label: string | null;
  outcome: string;
}

async function auditOf(url: string): Promise<Logged[]> {
  const out: Logged[] = [];
  let cursor: number | null = null;
  do {
    const res = await fetch(
      `${url}/-/lockwarden/v1/audit?policy=crash&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    expect(res.status).toBe(200);
    const page = (await res.json()) as { entries: Logged[]; nextCursor: number | null };
    out.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

describe('audit log under kill -9', () => {
  it('keeps every acknowledged refusal and hidden version, and never reuses an id', async () => {
    const first = await serve();
    const acknowledged: string[] = [];
    const hidden: string[] = [];
    let next = 0;
    let killed = false;
    const KILL_AFTER = 600;
    let killing: Promise<void> | undefined;
    // 16 clients refusing distinct packages (none is throttled as a repeat), and every third
    // request a packument with a hidden version under a label of its own (each is logged), until
    // the kill.
    const client = async () => {
      while (!killed) {
        const n = next++;
        const packument = n % 3 === 2;
        const name = packument ? `fresh-${n % 50}` : `evil-${n}`;
        const label = `l${Math.floor(n / 150)}`;
        try {
          const res = await fetch(`${first.url}/crash${packument ? `~${label}` : ''}/${name}`);
          await res.arrayBuffer();
          if (res.status !== (packument ? 200 : 403)) throw new Error(`${name}: HTTP ${res.status}`);
          if (packument) hidden.push(`${name} ${label}`);
          else acknowledged.push(name);
          if (acknowledged.length === KILL_AFTER) {
            // Mid-load: the other clients have requests in flight.
            killing = first.kill().then(() => {
              killed = true;
            });
          }
        } catch (err) {
          if (!killed && !killing) throw err;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    await killing;
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await serve();
    const logged = await auditOf(second.url);
    const present = new Set(logged.filter((e) => e.outcome === 'blocked').map((e) => e.package));
    const lost = acknowledged.filter((name) => !present.has(name));
    const presentHidden = new Set(
      logged.filter((e) => e.outcome === 'hidden').map((e) => `${e.package} ${e.label}`),
    );
    const lostHidden = hidden.filter((key) => !presentHidden.has(key));
    console.log(
      `kill -9 after ${acknowledged.length} acknowledged refusals and ${hidden.length} packuments with a hidden version (${next} requested): ${logged.length} logged, ${lost.length} refusals and ${lostHidden.length} hidden versions lost`,
    );
    expect(hidden.length).toBeGreaterThan(100);
    expect(lostHidden).toEqual([]);
    expect(lost).toEqual([]);
    const ids = logged.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);

    // After the restart, new entries continue above every id handed out before.
    const res = await fetch(`${second.url}/crash/evil-after-restart`);
    expect(res.status).toBe(403);
    const [newest] = await auditOf(second.url);
    expect(newest).toMatchObject({ package: 'evil-after-restart' });
    expect(newest!.id).toBeGreaterThan(Math.max(...ids));
    await second.stop();
  });
});
