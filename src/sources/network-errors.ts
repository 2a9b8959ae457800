// How a failed request is described and classified: which failures are timeouts (the origin did
// not answer), which happened before anything was sent (safe to send again), and the sentence a
// report shows for each.

/** The client settings the descriptions quote. */
export interface TimeoutSettings {
  timeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

export function describeTimeout(
  phase: 'headers' | 'body' | 'deadline',
  opts: TimeoutSettings,
  deadlineMs = opts.timeoutMs,
): string {
  if (phase === 'deadline') return `timed out: no complete response within the ${deadlineMs} ms deadline`;
  return phase === 'headers'
    ? `timed out after ${opts.headersTimeoutMs} ms waiting for response headers`
    : `timed out after ${opts.bodyTimeoutMs} ms without receiving body data`;
}

/** The error's code, or its cause's (undici wraps the socket's error). */
function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } } | null | undefined;
  return e?.code ?? e?.cause?.code;
}

/** undici's own timers (backstops of ours, and the connect timeout): the origin did not answer. */
export function isTimeoutError(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT'
  );
}

/** Errors raised before the request was written: sending it again cannot repeat its effect. */
export function isConnectError(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH'
  );
}

/**
 * An attempt that failed before any byte of a response arrived: it never reached the server
 * (isConnectError), the connection was closed or reset before the answer began (a keep-alive
 * connection the server had just dropped, a restarting upstream), or no headers came in time.
 * An idempotent request may be sent again, and a caller that streams the response on has passed
 * nothing on yet.
 */
export function failedBeforeResponse(err: unknown): boolean {
  if (isConnectError(err)) return true;
  const code = errorCode(err);
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'UND_ERR_HEADERS_TIMEOUT'
  );
}

export function describeNetworkError(err: unknown, opts: TimeoutSettings): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return describeTimeout('headers', opts);
    case 'UND_ERR_BODY_TIMEOUT':
      return describeTimeout('body', opts);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out connecting';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection closed by the server';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name could not be resolved';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate not accepted (${code}); give npm the CA that signs it (cafile or ca in .npmrc)`;
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
    case 'ERR_PADDING_1':
      return 'response body could not be decompressed';
    default:
      return `request failed (${code ?? e.message ?? String(err)})`;
  }
}
