// A loopback OSV API: `POST /v1/querybatch` (package queries, with or without a version) answers
// ids and `modified`, `GET /v1/vulns/<id>` the record, as the real service does.
import type { IncomingMessage } from 'node:http';
import semver from 'semver';
import { type FakeServer, sendJson, startFakeServer } from './fake-upstream.js';

export interface OsvRecord {
  id: string;
  modified: string;
  summary?: string;
  aliases?: string[];
  severity?: { type: string; score: string }[];
  database_specific?: Record<string, unknown>;
  affected: {
    package: { ecosystem: string; name: string };
    ranges?: { type: string; events: { introduced?: string; fixed?: string; last_affected?: string }[] }[];
    versions?: string[];
  }[];
  references?: { type: string; url: string }[];
}

export interface FakeOsv extends FakeServer {
  /** Queries per querybatch request received, in order. */
  batches: number[];
}

/** Whether a record's SEMVER ranges include `version` (enough for the fixtures here). */
function affects(record: OsvRecord, name: string, version: string): boolean {
  return record.affected.some(
    (a) =>
      a.package.name === name &&
      ((a.versions ?? []).includes(version) ||
        (a.ranges ?? []).some((r) => {
          let introduced: string | undefined;
          for (const e of r.events) {
            if (e.introduced !== undefined) introduced = e.introduced === '0' ? '0.0.0' : e.introduced;
            else if (introduced && e.fixed && semver.gte(version, introduced) && semver.lt(version, e.fixed))
              return true;
          }
          return false;
        })),
  );
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeOsv(records: OsvRecord[]): Promise<FakeOsv> {
  const batches: number[] = [];
  const server = await startFakeServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/v1/querybatch') {
      const body = (await readJson(req)) as {
        queries: { package: { name: string; ecosystem: string }; version?: string }[];
      };
      if (body.queries.length > 1000) return sendJson(res, 400, { message: 'Too many queries' });
      batches.push(body.queries.length);
      const results = body.queries.map((q) => {
        const vulns = records
          .filter((r) =>
            r.affected.some((a) => a.package.name === q.package.name && a.package.ecosystem === 'npm'),
          )
          .filter((r) => q.version === undefined || affects(r, q.package.name, q.version))
          .map((r) => ({ id: r.id, modified: r.modified }));
        return vulns.length > 0 ? { vulns } : {};
      });
      return sendJson(res, 200, { results });
    }
    const match = /^\/v1\/vulns\/([^/?]+)$/.exec(req.url ?? '');
    const record = match && records.find((r) => r.id === decodeURIComponent(match[1]!));
    if (req.method === 'GET' && record) return sendJson(res, 200, record);
    return sendJson(res, 404, { code: 5, message: 'Bug not found.' });
  });
  return Object.assign(server, { batches });
}
