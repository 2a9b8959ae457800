// The console's files: our modules from console/ and the two libraries it runs on (Preact, htm),
// read from their packages at start, each with an ETag and a gzip copy. Nothing is built or
// fetched from elsewhere; the browser loads ES modules as they are on disk.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface ConsoleAsset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  contentType: string;
}

export interface ConsoleAssets {
  /** By path below the console's URL: `assets/app.js`, `vendor/preact.js`. */
  files: Map<string, ConsoleAsset>;
  /** The page every console URL answers, and the CSP hash of its inline import map. */
  index: ConsoleAsset;
  importMapHash: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The package's console/ directory: the nearest one above this module (server/ in the repository,
 * lib/server/ when installed, or wherever a bundle of the service was written inside the package).
 */
function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'console', 'index.html')) && existsSync(join(dir, 'package.json')))
      return join(dir, 'console');
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `lockwarden console files (console/index.html) not found above ${here}; the package is incomplete`,
  );
}

function asset(body: Buffer, contentType: string): ConsoleAsset {
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    contentType,
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}

export function loadConsoleAssets(): ConsoleAssets {
  const dir = consoleDir();
  const files = new Map<string, ConsoleAsset>();
  for (const file of walk(dir)) {
    const type = TYPES[extname(file)];
    const path = relative(dir, file).split(sep).join('/');
    if (type && path !== 'index.html') files.set(`assets/${path}`, asset(readFileSync(file), type));
  }
  const require = createRequire(import.meta.url);
  const vendor: Record<string, string> = {
    'vendor/preact.js': require.resolve('preact'),
    'vendor/preact-hooks.js': require.resolve('preact/hooks'),
    // `require` picks htm's CommonJS entry; the ES module sits beside it.
    'vendor/htm.js': join(dirname(require.resolve('htm')), 'htm.module.js'),
  };
  for (const [path, file] of Object.entries(vendor))
    files.set(path, asset(readFileSync(file), TYPES['.js']!));

  const html = readFileSync(join(dir, 'index.html'));
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html.toString('utf8'))?.[1];
  if (importMap === undefined) throw new Error('console/index.html has no import map');
  return {
    files,
    index: asset(html, TYPES['.html']!),
    importMapHash: `sha256-${createHash('sha256').update(importMap).digest('base64')}`,
  };
}

/** Gzipped size of the console's JavaScript (ours and the libraries'), for the README. */
export function javascriptSize(assets: ConsoleAssets): { files: number; bytes: number; gzipBytes: number } {
  let bytes = 0;
  let gzipBytes = 0;
  let files = 0;
  for (const [path, a] of assets.files) {
    if (!path.endsWith('.js')) continue;
    files++;
    bytes += a.body.length;
    gzipBytes += a.gzip.length;
  }
  return { files, bytes, gzipBytes };
}
