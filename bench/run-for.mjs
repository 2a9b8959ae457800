// The load generator of `npm run bench:proxy`: CONNECTIONS loops over one undici pool, bounded by
// time and request count, loopback only.

export const CONNECTIONS = 32;

/** CONNECTIONS loops hitting one path until the time (or request) budget is spent. */
export async function load(pool, { path, headers, durationMs, countBytes = false }) {
  const maxRequests = 2_000_000;
  // Warm-up: connections open, caches filled, JIT settled.
  await runFor(pool, path, headers, Math.min(1000, durationMs / 4), maxRequests, false);
  return runFor(pool, path, headers, durationMs, maxRequests, countBytes);
}

export async function runFor(pool, path, headers, durationMs, maxRequests, countBytes) {
  const latencies = [];
  let bytes = 0;
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  // The dispatch API with plain callbacks: no stream per response, so the generator spends as
  // little of the shared CPU as it can and the numbers describe the service.
  const once = () =>
    new Promise((resolveRequest, reject) => {
      let status = 0;
      pool.dispatch(
        { path, method: 'GET', headers },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData(_controller, chunk) {
            if (countBytes) bytes += chunk.length;
          },
          onResponseEnd() {
            resolveRequest(status);
          },
          onResponseError(_controller, err) {
            reject(err);
          },
        },
      );
    });
  const worker = async () => {
    while (performance.now() < deadline && issued < maxRequests) {
      issued++;
      const t0 = performance.now();
      const status = await once();
      if (status !== 200) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (errors > 0) throw new Error(`${path}: ${errors} requests failed`);
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    bytes,
  };
}

export async function runConcurrent(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
