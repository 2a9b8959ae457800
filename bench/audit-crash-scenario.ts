// The kill -9 part of `npm run bench:audit-log`: `lockwarden serve` in a process of its own under
// CONNECTIONS clients mixing refusals (403, each a distinct blocked package) and packuments with
// hidden versions (200, each a distinct package and consumer label, so each is logged), killed
// with SIGKILL mid-load, then started again on the same data directory or database. Every
// response is an acknowledgement; it prints how many of them the log holds after the restart,
// and how many it lost among those that completed 250 ms or more before the kill (the target: 0).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startFakeDownloads } from '../test/helpers/fake-downloads.js';
import { startFakeRegistry } from '../test/helpers/fake-registry.js';
import { makePackument } from '../test/helpers/make-packument.js';
import { startServeProcess } from '../test/helpers/serve-process.js';

const TOKEN = 'bench-crash-admin-token';
const PACKAGES = 400;
const LABELS = 32;
const MARGIN_MS = 250;
const DAY = 86_400_000;

export interface CrashResult {
  refusals: { acknowledged: number; found: number; lostBeforeMargin: number; lostInMargin: number };
  hidden: { acknowledged: number; found: number; lostBeforeMargin: number; lostInMargin: number };
  killAfterMs: number;
  restartMs: number;
}

export async function crashScenario(options: {
  /** Extra `lockwarden serve` arguments naming the store (`--data DIR` or `--database-url URL`). */
  storeArgs: (dir: string) => Promise<string[]>;
  connections: number;
  killAfterMs: number;
}): Promise<CrashResult> {
  const dir = await mkdtemp(join(tmpdir(), 'lockwarden-bench-crash-'));
  const registry = await startFakeRegistry({
    shape: 'public',
    packuments: Array.from({ length: PACKAGES }, (_, i) =>
      makePackument({
        name: `fresh-${i}`,
        versions: [
          // The service runs on the real clock: 1.1.0 is in its cooling-off window, so hidden.
          { version: '1.0.0', publishedAt: new Date(Date.now() - 300 * DAY) },
          { version: '1.1.0', publishedAt: new Date(Date.now() - DAY) },
        ],
        distTags: { latest: '1.0.0' },
      }),
    ),
  });
  registry.precompute();
  const downloads = await startFakeDownloads({ counts: {} });
  await writeFile(
    join(dir, 'crash.json'),
    JSON.stringify({ id: 'crash', block: ['evil-*'], coolingOffDays: 7, typosquatting: false }),
  );
  const storeArgs = await options.storeArgs(dir);
  const serve = () =>
    startServeProcess({
      cwd: dir,
      args: [
        ...storeArgs,
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
  const processes: Array<Awaited<ReturnType<typeof serve>>> = [];
  try {
    const first = await serve();
    processes.push(first);
    // Completion times (performance.now) of each acknowledged response, by what it logs.
    const refused = new Map<string, number>();
    const hidden = new Map<string, number>();
    let next = 0;
    let killedAt = Number.POSITIVE_INFINITY;
    const pool = new Pool(first.url, { connections: options.connections });
    const started = performance.now();
    const killing = new Promise<void>((resolve) =>
      setTimeout(() => {
        killedAt = performance.now();
        void first.kill().then(resolve);
      }, options.killAfterMs),
    );
    const client = async () => {
      while (performance.now() < killedAt) {
        const n = next++;
        // Every (package, label) pair once; refusals only when they are used up.
        const refusal = n % 2 === 0 || n >> 1 >= PACKAGES * LABELS;
        const pkg = refusal ? `evil-${n}` : `fresh-${(n >> 1) % PACKAGES}`;
        const label = `l${Math.floor((n >> 1) / PACKAGES)}`;
        try {
          const res = await pool.request({
            path: `/crash${refusal ? '' : `~${label}`}/${pkg}`,
            method: 'GET',
          });
          await res.body.arrayBuffer();
          const done = performance.now();
          if (refusal && res.statusCode === 403) refused.set(pkg, done);
          else if (!refusal && res.statusCode === 200) hidden.set(`${pkg} ${label}`, done);
          else throw new Error(`${pkg}: HTTP ${res.statusCode}`);
        } catch (err) {
          if (performance.now() < killedAt) throw err;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: options.connections }, client));
    await killing;
    await pool.destroy().catch(() => {});

    const restartStarted = performance.now();
    const second = await serve();
    processes.push(second);
    const restartMs = performance.now() - restartStarted;
    const loggedBlocked = new Set<string>();
    const loggedHidden = new Set<string>();
    let cursor: number | null = null;
    do {
      const res = await fetch(
        `${second.url}/-/lockwarden/v1/audit?policy=crash&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      if (res.status !== 200) throw new Error(`audit query: HTTP ${res.status}`);
      const page = (await res.json()) as {
        entries: Array<{ package: string; label: string | null; outcome: string }>;
        nextCursor: number | null;
      };
      for (const e of page.entries) {
        if (e.outcome === 'blocked') loggedBlocked.add(e.package);
        else if (e.outcome === 'hidden') loggedHidden.add(`${e.package} ${e.label}`);
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
    await second.stop();

    const count = (acked: Map<string, number>, logged: Set<string>) => {
      let lostBeforeMargin = 0;
      let lostInMargin = 0;
      for (const [key, at] of acked) {
        if (logged.has(key)) continue;
        if (at <= killedAt - MARGIN_MS) lostBeforeMargin++;
        else lostInMargin++;
      }
      return {
        acknowledged: acked.size,
        found: acked.size - lostBeforeMargin - lostInMargin,
        lostBeforeMargin,
        lostInMargin,
      };
    };
    return {
      refusals: count(refused, loggedBlocked),
      hidden: count(hidden, loggedHidden),
      killAfterMs: killedAt - started,
      restartMs,
    };
  } finally {
    // A run that failed midway leaves no service behind.
    for (const p of processes) await p.kill();
    await registry.close();
    await downloads.close();
    await rm(dir, { recursive: true, force: true });
  }
}
