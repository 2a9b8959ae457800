// A loopback npm downloads API: `/downloads/point/last-week/<name>` and the bulk form
// `/downloads/point/last-week/a,b,c` (unscoped only, at most 128 names), shaped like the real one.
import { type FakeServer, sendJson, startFakeServer } from './fake-upstream.js';

export interface FakeDownloadsOptions {
  /** Weekly downloads by package name; names not listed are unknown to the API. */
  counts?: Record<string, number>;
  /** Period reported in responses (YYYY-MM-DD). */
  start?: string;
  end?: string;
  maxBulk?: number;
}

export interface FakeDownloads extends FakeServer {
  setCount(name: string, count: number): void;
  /** The package names each request asked for, in order. */
  askedNames(): string[][];
}

const PREFIX = '/downloads/point/last-week/';

export async function startFakeDownloads(options: FakeDownloadsOptions = {}): Promise<FakeDownloads> {
  const counts = new Map(Object.entries(options.counts ?? {}));
  const start = options.start ?? '2026-02-22';
  const end = options.end ?? '2026-02-28';
  const maxBulk = options.maxBulk ?? 128;

  const namesOf = (path: string): string[] | undefined => {
    if (!path.startsWith(PREFIX)) return undefined;
    try {
      return decodeURIComponent(path.slice(PREFIX.length)).split(',');
    } catch {
      return undefined;
    }
  };

  const server = await startFakeServer((_req, res, recorded) => {
    const names = namesOf(recorded.path);
    if (!names || names.some((n) => n === '')) return sendJson(res, 400, { error: 'invalid request' });
    if (names.length === 1) {
      const name = names[0]!;
      const count = counts.get(name);
      if (count === undefined) return sendJson(res, 404, { error: `package ${name} not found` });
      return sendJson(res, 200, { downloads: count, start, end, package: name });
    }
    if (names.some((n) => n.startsWith('@'))) {
      return sendJson(res, 400, { error: 'Scoped packages not supported in bulk queries' });
    }
    if (names.length > maxBulk) {
      return sendJson(res, 400, { error: `bulk queries are limited to ${maxBulk} packages` });
    }
    const body: Record<string, unknown> = {};
    for (const name of names) {
      const count = counts.get(name);
      body[name] = count === undefined ? null : { downloads: count, start, end, package: name };
    }
    return sendJson(res, 200, body);
  });

  return {
    ...server,
    setCount: (name, count) => {
      counts.set(name, count);
    },
    askedNames: () => server.requests.map((r) => namesOf(r.path) ?? []),
  };
}
