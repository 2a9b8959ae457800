// kill -9 under load: every refusal the service answered is in the audit log after a restart, and
// no id is handed out twice. Refusals are answered only once their entries are committed (group
// commit with fsync), so the window a crash can lose holds no acknowledged refusal at all.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.js';

const TOKEN = 'crash-test-admin-token';
let dir: string;
let registry: FakeRegistry;
let downloads: FakeDownloads;
const running: ServeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-crash-'));
  registry = await startFakeRegistry({ shape: 'public', packuments: [] });
  downloads = await startFakeDownloads({ counts: {} });
  await writeFile(join(dir, 'crash.json'), JSON.stringify({ id: 'crash', block: ['evil-*'] }));
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

async function auditOf(url: string): Promise<Array<{ id: number; package: string }>> {
  const out: Array<{ id: number; package: string }> = [];
  let cursor: number | null = null;
  do {
    const res = await fetch(
      `${url}/-/lockwarden/v1/audit?policy=crash&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    expect(res.status).toBe(200);
    const page = (await res.json()) as {
      entries: Array<{ id: number; package: string }>;
      nextCursor: number | null;
    };
    out.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

describe('audit log under kill -9', () => {
  it('keeps every acknowledged refusal and never reuses an id', async () => {
    const first = await serve();
    const acknowledged: string[] = [];
    let next = 0;
    let killed = false;
    const KILL_AFTER = 600;
    let killing: Promise<void> | undefined;
    // 16 clients refusing distinct packages (none is throttled as a repeat) until the kill.
    const client = async () => {
      while (!killed) {
        const name = `evil-${next++}`;
        try {
          const res = await fetch(`${first.url}/crash/${name}`);
          await res.arrayBuffer();
          if (res.status !== 403) throw new Error(`${name}: HTTP ${res.status}`);
          acknowledged.push(name);
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
    const present = new Set(logged.map((e) => e.package));
    const lost = acknowledged.filter((name) => !present.has(name));
    console.log(
      `kill -9 after ${acknowledged.length} acknowledged refusals (${next} requested): ${logged.length} logged, ${lost.length} acknowledged lost`,
    );
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
  }, 120_000);
});
