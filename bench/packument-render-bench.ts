// `npm run bench:packument`: what the proxy's first answer for a large document costs on its one
// thread, read two ways in the same process, alternating per round:
//   - parsed: JSON.parse of the whole document, the depth walk the served copy needed before it
//     could be re-serialized, filterPackument with URL rewrites, JSON.stringify (full, then the
//     abbreviated form) — the proxy before index-packument.ts;
//   - indexed: indexPackument (one validating pass), filterPackument of the keys, and the two
//     forms spliced from the upstream's bytes (renderIndexedPackument) — the proxy now.
// Both hide the newest 5% of versions, as a cooling-off does. Prints the median per stage.
// Options: --file PATH (repeatable; a packument saved from a registry, e.g. a 21 MB one), else
// a generated document of --versions N (default 3000) shaped like a large framework's;
// --rounds N (default 15).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { abbreviatePackument } from '../src/policy/abbreviate-packument.js';
import { filterPackument } from '../src/policy/filter-packument.js';
import { renderIndexedPackument } from '../src/policy/render-indexed-packument.js';
import {
  MAX_DOCUMENT_DEPTH,
  packumentIndexOf,
  parsePackument,
} from '../src/sources/parse-registry-document.js';
import type { Packument } from '../src/sources/types.js';

const { values } = parseArgs({
  options: {
    file: { type: 'string', multiple: true },
    versions: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '15' },
  },
});
const rounds = Number(values.rounds);

const inputs: Array<{ label: string; body: Buffer }> = values.file?.length
  ? values.file.map((file) => ({ label: file, body: readFileSync(file) }))
  : [{ label: `generated, ${values.versions} versions`, body: generated(Number(values.versions)) }];

const rewrites = {
  rewriteTarball: (name: string, version: string) => `http://127.0.0.1:4873/p/${name}/-/x-${version}.tgz`,
  rewriteAttestations: (name: string, version: string) =>
    `http://127.0.0.1:4873/p/-/npm/v1/attestations/${name}@${version}`,
};

console.log(
  `node ${process.version}, ${rounds} rounds, medians in ms; both arms in this process, alternating`,
);
for (const { label, body } of inputs) {
  const name = nameOf(body);
  const times = new Map<string, number[]>();
  const record = (stage: string, ms: number) => times.set(stage, [...(times.get(stage) ?? []), ms]);
  let sizes = '';
  for (let round = 0; round < rounds; round++) {
    const arms = round % 2 === 0 ? [parsedArm, indexedArm] : [indexedArm, parsedArm];
    for (const arm of arms) sizes = arm(body, name, record);
  }
  console.log(`\n${label} (${(body.length / 1e6).toFixed(1)} MB)${sizes}`);
  for (const [stage, list] of times)
    console.log(`  ${stage.padEnd(44)} ${trueMedian(list).toFixed(1).padStart(7)}`);
}

/** The true median (the mean of the middle two for an even count). */
function trueMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

type Recorder = (stage: string, ms: number) => void;

function parsedArm(body: Buffer, name: string, record: Recorder): string {
  let t = performance.now();
  const result = parsePackument(body, name);
  if (!result.ok) throw new Error(result.reason);
  const packument = result.value;
  const parseMs = performance.now() - t;
  t = performance.now();
  if (nestedDeeperThan(packument, MAX_DOCUMENT_DEPTH)) throw new Error('too deep');
  const walkMs = performance.now() - t;
  const keep = keepOf(packument);
  t = performance.now();
  const filtered = filterPackument(packument, { keep, ...rewrites }).packument;
  const fullText = Buffer.from(JSON.stringify(filtered));
  const fullMs = performance.now() - t;
  t = performance.now();
  const abbreviatedText = Buffer.from(JSON.stringify(abbreviatePackument(filtered)));
  const abbreviatedMs = performance.now() - t;
  record('parsed: JSON.parse', parseMs);
  record('parsed: depth walk', walkMs);
  record('parsed: filter + stringify full', fullMs);
  record('parsed: abbreviate + stringify', abbreviatedMs);
  record('parsed: total', parseMs + walkMs + fullMs + abbreviatedMs);
  return `; served ${(fullText.length / 1e6).toFixed(1)} MB full, ${(abbreviatedText.length / 1e6).toFixed(1)} MB abbreviated`;
}

function indexedArm(body: Buffer, name: string, record: Recorder): string {
  let t = performance.now();
  const result = parsePackument(body, name, MAX_DOCUMENT_DEPTH);
  if (!result.ok) throw new Error(result.reason);
  const packument = result.value;
  const index = packumentIndexOf(packument)!;
  const indexMs = performance.now() - t;
  const keep = keepOf(packument);
  t = performance.now();
  const filtered = filterPackument(packument, { keep }).packument;
  const fullText = renderIndexedPackument(index, filtered, { ...rewrites, abbreviated: false });
  const fullMs = performance.now() - t;
  t = performance.now();
  const abbreviatedText = renderIndexedPackument(index, filtered, { ...rewrites, abbreviated: true });
  const abbreviatedMs = performance.now() - t;
  record('indexed: index (validating pass + top level)', indexMs);
  record('indexed: filter + splice full', fullMs);
  record('indexed: splice abbreviated', abbreviatedMs);
  record('indexed: total', indexMs + fullMs + abbreviatedMs);
  return `; served ${(fullText.length / 1e6).toFixed(1)} MB full, ${(abbreviatedText.length / 1e6).toFixed(1)} MB abbreviated`;
}

/** The newest 5% of versions by publish time hidden, as a cooling-off hides a busy package's. */
function keepOf(packument: Packument): (version: string) => boolean {
  const time = packument.time ?? {};
  const byTime = Object.keys(packument.versions).sort((a, b) => (time[a] ?? '').localeCompare(time[b] ?? ''));
  const hidden = new Set(byTime.slice(Math.floor(byTime.length * 0.95)));
  return (version) => !hidden.has(version);
}

/** The depth walk the proxy ran over every parsed document before it (as it was, for the comparison). */
function nestedDeeperThan(value: unknown, limit: number, depth = 1): boolean {
  if (depth > limit) return true;
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) {
      if (item !== null && typeof item === 'object' && nestedDeeperThan(item, limit, depth + 1)) return true;
    }
  }
  return false;
}

function nameOf(body: Buffer): string {
  const result = parsePackument(body, 'unknown', MAX_DOCUMENT_DEPTH);
  if (!result.ok) throw new Error(result.reason);
  return result.value.name;
}

/** A framework-sized document: canary after canary, each with dependencies, scripts and a dist. */
function generated(count: number): Buffer {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = { created: '2016-01-01T00:00:00.000Z' };
  for (let i = 0; i < count; i++) {
    const version = `${10 + Math.floor(i / 300)}.${Math.floor(i / 30) % 10}.${i % 30}-canary.${i}`;
    versions[version] = {
      name: 'framework',
      version,
      description: 'The framework, for production',
      license: 'MIT',
      repository: { type: 'git', url: 'git+http://127.0.0.1:9/framework.git' },
      main: './dist/server/index.js',
      bin: { framework: './dist/bin/framework' },
      types: './index.d.ts',
      engines: { node: '>=18.17.0' },
      scripts: { build: 'taskr release', dev: 'taskr', prepublishOnly: 'cd ../../ && turbo run build' },
      dependencies: Object.fromEntries(Array.from({ length: 8 }, (_, d) => [`dep-${d}`, `^${d}.${i % 7}.0`])),
      optionalDependencies: Object.fromEntries(
        Array.from({ length: 9 }, (_, d) => [`@framework/swc-${d}`, version]),
      ),
      peerDependencies: {
        react: '^18.2.0 || 19.0.0-rc',
        'react-dom': '^18.2.0 || 19.0.0-rc',
        sass: '^1.3.0',
      },
      peerDependenciesMeta: { sass: { optional: true } },
      devDependencies: Object.fromEntries(Array.from({ length: 60 }, (_, d) => [`dev-dep-${d}`, `${d}.0.0`])),
      _npmUser: { name: 'publisher', email: 'publisher@example.invalid' },
      maintainers: [{ name: 'publisher', email: 'publisher@example.invalid' }],
      dist: {
        tarball: `http://127.0.0.1:9/framework/-/framework-${version}.tgz`,
        shasum: '0123456789abcdef0123456789abcdef01234567',
        integrity: `sha512-${'A'.repeat(86)}==`,
        fileCount: 1500 + i,
        unpackedSize: 90_000_000 + i,
        signatures: [{ keyid: 'SHA256:key', sig: 'MEUCIQ'.padEnd(96, 'x') }],
      },
      gitHead: 'f'.repeat(40),
    };
    time[version] = new Date(Date.UTC(2016, 0, 1) + i * 3_600_000).toISOString();
  }
  const latest = Object.keys(versions).at(-1)!;
  return Buffer.from(
    JSON.stringify({
      _id: 'framework',
      _rev: '1-0123456789abcdef0123456789abcdef',
      name: 'framework',
      'dist-tags': { latest, canary: latest },
      versions,
      time,
      readme: 'Framework\n'.repeat(200),
    }),
  );
}
