// Calls a Node request handler (Koa's `app.callback()`) in process, without opening a port: a
// request object fed from a buffer and a response that captures status, headers and bytes.
import { IncomingMessage, type RequestListener, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface InjectOptions {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
}

export interface InjectedResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** Raw bytes as sent (still gzipped when content-encoding says so). */
  raw: Buffer;
  /** Decoded text (gunzipped when needed). */
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
  json<T = any>(): T;
}

class CapturingResponse extends ServerResponse {
  readonly chunks: Buffer[] = [];
  #done: () => void = () => {};
  readonly done = new Promise<void>((resolve) => {
    this.#done = resolve;
  });

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      this.chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
      );
    }
    if (!this.headersSent) this.writeHead(this.statusCode);
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (typeof callback === 'function') process.nextTick(callback as () => void);
    return true;
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    if (!this.headersSent) this.writeHead(this.statusCode);
    Object.defineProperty(this, 'writableEnded', { value: true, configurable: true });
    Object.defineProperty(this, 'writableFinished', { value: true, configurable: true });
    const callback = typeof encoding === 'function' ? encoding : cb;
    process.nextTick(() => {
      this.emit('finish');
      this.emit('close');
      if (typeof callback === 'function') (callback as () => void)();
      this.#done();
    });
    return this;
  }
}

export async function inject(handler: RequestListener, options: InjectOptions): Promise<InjectedResponse> {
  const socket = new Socket();
  const req = new IncomingMessage(socket);
  req.method = options.method ?? 'GET';
  req.url = options.url;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  const headers: Record<string, string> = { host: '127.0.0.1:4880' };
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
  let body: Buffer | undefined;
  if (options.body !== undefined) {
    body = Buffer.isBuffer(options.body)
      ? options.body
      : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(body.length);
  }
  req.headers = headers;
  req.rawHeaders = Object.entries(headers).flat();
  if (body) req.push(body);
  req.push(null);

  const res = new CapturingResponse(req);
  handler(req, res);
  await res.done;
  socket.destroy();
  const raw = Buffer.concat(res.chunks);
  const responseHeaders = res.getHeaders() as InjectedResponse['headers'];
  const decoded = responseHeaders['content-encoding'] === 'gzip' && raw.length > 0 ? gunzipSync(raw) : raw;
  const text = decoded.toString('utf8');
  return {
    status: res.statusCode,
    headers: responseHeaders,
    raw,
    text,
    json: () => JSON.parse(text),
  };
}
