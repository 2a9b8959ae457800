// The base of every fake upstream (registry, downloads API, GitHub API): a loopback HTTP server
// that records each request and can be told, per test, to misbehave the ways real upstreams do.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Raw request target: path and query, exactly as sent. */
  url: string;
  /** Raw path without the query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived (benchmarks split a run's time by it). */
  receivedAt: number;
  /** performance.now() when its response was done (sent, or the connection closed). */
  finishedAt?: number;
}

interface FaultCommon {
  /** Which requests the fault applies to; every request when omitted. */
  match?: (req: RecordedRequest) => boolean;
  /** How many matching requests it affects; forever when omitted. */
  times?: number;
}

export type Fault = FaultCommon &
  (
    | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string | Buffer }
    /** Waits before serving the request normally (or until the client gives up). */
    | { kind: 'delay'; ms: number }
    /** 200 with a body that is not what the client expects. */
    | { kind: 'garbage'; body?: string | Buffer; contentType?: string }
    /** 200 with `bytes` bytes of filler; `declareLength` sends content-length up front. */
    | { kind: 'huge'; bytes: number; declareLength?: boolean }
    /** Headers and the start of a body, then silence. */
    | { kind: 'stall-body' }
    /** Headers, then one byte of body every `intervalMs`, forever. */
    | { kind: 'trickle'; intervalMs: number }
    /** Drops the connection without answering. */
    | { kind: 'reset' }
  );

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  recorded: RecordedRequest,
) => void | Promise<void>;

export interface FakeServer {
  /** `http://127.0.0.1:<port>/`, with a trailing slash. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  fault(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { used: number })[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server = createServer(async (req, res) => {
    const rawUrl = req.url ?? '/';
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      url: rawUrl,
      path: rawUrl.split('?')[0] ?? '/',
      headers: req.headers,
      receivedAt: performance.now(),
    };
    requests.push(recorded);
    res.on('close', () => {
      recorded.finishedAt = performance.now();
    });
    const fault = faults.find(
      (f) => (f.times === undefined || f.used < f.times) && (!f.match || f.match(recorded)),
    );
    try {
      if (fault) {
        fault.used++;
        if (fault.kind === 'delay') {
          await wait(fault.ms);
          if (res.destroyed) return;
        } else {
          await applyFault(fault, res);
          return;
        }
      }
      await handler(req, res, recorded);
    } catch (err) {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake upstream error: ${(err as Error).message}`);
      }
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    fault: (f) => faults.push({ ...f, used: 0 }),
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function applyFault(fault: Fault, res: ServerResponse): Promise<void> {
  switch (fault.kind) {
    case 'status':
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ error: `fake status ${fault.status}` }));
      return;
    case 'garbage':
      res.writeHead(200, { 'content-type': fault.contentType ?? 'application/json' });
      res.end(fault.body ?? '{"name": "truncated", "versions": {"1.0.0": {"name": ');
      return;
    case 'huge': {
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(fault.declareLength ? { 'content-length': String(fault.bytes) } : {}),
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = fault.bytes;
      while (left > 0 && !res.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece))
          await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      }
      res.end();
      return;
    }
    case 'stall-body':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"name":');
      return;
    case 'reset':
      res.socket?.destroy();
      return;
    case 'trickle': {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), fault.intervalMs);
      res.on('close', () => clearInterval(t));
      return;
    }
    case 'delay':
      return;
  }
}

/**
 * A loopback URL nothing listens on: the "upstream is down" case. A port below 1024, found
 * refusing now: every server of the tests listens on an ephemeral port (`listen(0)`), so none can
 * take it later, as one could a freed ephemeral port while tests run in parallel.
 */
export async function closedPortUrl(): Promise<string> {
  for (const port of CLOSED_PORT_CANDIDATES) {
    if (await refuses(port)) return `http://127.0.0.1:${port}/`;
  }
  throw new Error(`every candidate closed port (${CLOSED_PORT_CANDIDATES.join(', ')}) has a listener`);
}

const CLOSED_PORT_CANDIDATES = [9, 1, 3, 5, 11, 13, 17, 19];

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}
