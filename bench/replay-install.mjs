// Warming a bench service up without a client's CPU cost: the requests of an install, replayed.
import { runConcurrent } from './run-for.mjs';

/**
 * What a client installing `dependencies` asks of the proxy, the way pnpm does (16 requests at a
 * time; each package's abbreviated document, then its dependencies' documents as it arrives, and
 * the tarball of the version served as latest): warms a service up without a client's CPU cost.
 */
export async function replayInstall(pool, dependencies) {
  const seen = new Set(Object.keys(dependencies));
  const queue = [...seen].map((name) => ({ kind: 'document', name }));
  const fetchOne = async (job) => {
    if (job.kind === 'tarball') {
      const res = await pool.request({ path: job.path, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`warm-up: ${job.path}: HTTP ${res.statusCode}`);
      return;
    }
    const res = await pool.request({
      path: `/bench/${job.name}`,
      method: 'GET',
      headers: {
        accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*',
        'accept-encoding': 'gzip',
      },
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`warm-up: ${job.name}: HTTP ${res.statusCode}`);
    const { gunzipSync } = await import('node:zlib');
    const doc = JSON.parse(
      (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
    );
    const manifest = doc.versions[doc['dist-tags'].latest];
    queue.push({ kind: 'tarball', path: new URL(manifest.dist.tarball).pathname });
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      queue.push({ kind: 'document', name: dep });
    }
  };
  let active = 0;
  await new Promise((resolveAll, reject) => {
    const pump = () => {
      if (queue.length === 0 && active === 0) return resolveAll();
      while (active < 16 && queue.length > 0) {
        active++;
        fetchOne(queue.shift()).then(() => {
          active--;
          pump();
        }, reject);
      }
    };
    pump();
  });
}

/** Each package's two documents and one tarball (`{ name, version }`), 8 at a time. */
export async function warmUp(port, packages) {
  const undici = await import('undici');
  const pool = new undici.Pool(`http://127.0.0.1:${port}`, { connections: 8 });
  await runConcurrent(packages, 8, async ({ name, version }) => {
    for (const accept of ['application/json', 'application/vnd.npm.install-v1+json']) {
      const res = await pool.request({ path: `/bench/${name}`, method: 'GET', headers: { accept } });
      await res.body.dump();
    }
    const tgz = await pool.request({ path: `/bench/${name}/-/${name}-${version}.tgz`, method: 'GET' });
    await tgz.body.dump();
    if (tgz.statusCode !== 200) throw new Error(`warm-up: ${name}@${version}: HTTP ${tgz.statusCode}`);
  });
  await pool.close();
}
