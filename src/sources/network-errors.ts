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

/** undici's own timers (backstops of ours, and the connect timeout): the origin did not answer. */
export function isTimeoutError(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT'
  );
}

/** Errors raised before the request was written: sending it again cannot repeat its effect. */
export function isConnectError(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH'
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
