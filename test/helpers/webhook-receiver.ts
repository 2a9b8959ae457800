// A webhook receiver on loopback that records what it gets and answers as a test says (a status,
// a redirect), and can go down and come back on the same port (keeping it meanwhile).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are asserted field by field
  json: any;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: Received[];
  /** Status (and headers) of the next answers; 204 by default. */
  answer: { status: number; headers?: Record<string, string> };
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /**
   * Down, but holding its port: every connection is reset until `up`. A port given up with `stop`
   * can be taken by any other process on a shared machine meanwhile, which would then fail the
   * restart or, worse, be sent the webhook.
   */
  down(): void;
  up(): void;
  /** Connections reset while down: the attempts that failed. */
  refused: number;
}

export async function startWebhookReceiver(port = 0, path = '/hook'): Promise<WebhookReceiver> {
  let server: Server | undefined;
  let isDown = false;
  const receiver: WebhookReceiver = {
    url: '',
    port,
    received: [],
    answer: { status: 204 },
    refused: 0,
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          receiver.received.push({ headers: req.headers, body, json });
          res.writeHead(receiver.answer.status, receiver.answer.headers ?? {});
          res.end();
        });
      });
      server.on('connection', (socket) => {
        if (!isDown) return;
        receiver.refused++;
        socket.resetAndDestroy();
      });
      await new Promise<void>((resolve) => server!.listen(receiver.port, '127.0.0.1', resolve));
      receiver.port = (server.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${receiver.port}${path}`;
    },
    async stop() {
      if (!server) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    },
    down() {
      isDown = true;
      server?.closeAllConnections();
    },
    up() {
      isDown = false;
    },
  };
  await receiver.start();
  return receiver;
}

/**
 * Checks a Standard Webhooks signature by the specification (HMAC-SHA256 of `id.timestamp.body`
 * with the base64 secret after `whsec_`), independently of the library the service signs with.
 */
export function signatureMatches(r: Received, secret: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`)
    .digest();
  return String(r.headers['webhook-signature'] ?? '')
    .split(' ')
    .some((part) => {
      const [version, sig] = part.split(',');
      if (version !== 'v1' || !sig) return false;
      const given = Buffer.from(sig, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
