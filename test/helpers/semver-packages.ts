// Packages built for semver-honesty tests and benchmarks: real tarballs whose declarations and
// package.json change between versions in known ways.
import { type FullPackument, makePackument } from './make-packument.js';

const daysAgo = (now: Date, d: number) => new Date(now.getTime() - d * 86400000);

const UTILS_23 = `export interface ParseOptions { strict?: boolean }
export declare function parseOptions(text: string): ParseOptions;
export declare function formatOptions(o: ParseOptions): string;
`;
const UTILS_24 = `export interface ParseOptions { strict?: boolean }
export declare function formatOptions(o: ParseOptions): string;
`;
const LIB_X_EXPORTS = {
  '.': { types: './dist/index.d.ts', default: './dist/index.js' },
  './utils': { types: './dist/utils.d.ts', default: './dist/utils.js' },
};

export function SEMVER_PACKUMENTS(now: Date): FullPackument[] {
  const old = daysAgo(now, 300);
  const recent = daysAgo(now, 30);
  return [
    makePackument({
      name: 'lib-x',
      versions: [
        {
          version: '2.3.0',
          publishedAt: old,
          extra: { exports: LIB_X_EXPORTS, main: 'dist/index.js' },
          files: {
            'dist/index.js': 'export const x = 1;\n',
            'dist/index.d.ts': 'export declare const x: number;\n',
            'dist/utils.js': 'export function parseOptions() {}\nexport function formatOptions() {}\n',
            'dist/utils.d.ts': UTILS_23,
          },
        },
        {
          version: '2.4.0',
          publishedAt: recent,
          extra: { exports: LIB_X_EXPORTS, main: 'dist/index.js' },
          files: {
            'dist/index.js': 'export const x = 1;\nexport const y = 2;\n',
            'dist/index.d.ts': 'export declare const x: number;\nexport declare const y: number;\n',
            'dist/utils.js': 'export function formatOptions() {}\n',
            'dist/utils.d.ts': UTILS_24,
          },
        },
        {
          version: '3.0.0',
          publishedAt: recent,
          extra: { exports: { '.': LIB_X_EXPORTS['.'] }, main: 'dist/index.js' },
          files: {
            'dist/index.js': 'export const z = 1;\n',
            'dist/index.d.ts': 'export declare const z: number;\n',
          },
        },
      ],
      distTags: { latest: '2.4.0' },
    }),
    makePackument({
      name: 'engine-pkg',
      versions: [
        {
          version: '1.0.0',
          publishedAt: old,
          extra: { engines: { node: '>=14' }, types: 'index.d.ts' },
          files: { 'index.d.ts': 'export declare function run(): void;\n' },
        },
        {
          version: '1.1.0',
          publishedAt: recent,
          extra: { engines: { node: '>=18' }, types: 'index.d.ts' },
          files: { 'index.d.ts': 'export declare function run(): void;\n' },
        },
      ],
    }),
    makePackument({
      name: 'additive-pkg',
      versions: [
        {
          version: '1.0.0',
          publishedAt: old,
          extra: { types: 'index.d.ts', engines: { node: '>=18' } },
          files: {
            'index.d.ts':
              'export declare function a(x?: number): string;\nexport interface Opts { a?: string }\n',
          },
        },
        {
          version: '1.1.0',
          publishedAt: recent,
          extra: { types: 'index.d.ts', engines: { node: '>=16' } },
          files: {
            'index.d.ts':
              'export declare function a(x?: number, y?: boolean): string;\nexport declare function b(): void;\nexport interface Opts { a?: string; b?: number }\nexport type Mode = "x" | "y";\n',
          },
        },
      ],
    }),
    makePackument({
      name: 'api-pkg',
      versions: [
        {
          version: '1.0.0',
          publishedAt: old,
          extra: { types: 'index.d.ts' },
          files: {
            'index.d.ts':
              'export declare function connect(url: string): void;\nexport interface Options { timeout?: number }\nexport type Mode = "fast" | "slow";\n',
          },
        },
        {
          version: '1.0.1',
          publishedAt: recent,
          extra: { types: 'index.d.ts' },
          files: {
            'index.d.ts':
              'export declare function connect(url: string, token: string): void;\nexport interface Options { timeout: number }\nexport type Mode = "fast";\n',
          },
        },
      ],
    }),
    // Its change is visible only with the standard library's types (Promise, Map): without them
    // both parameter types collapse to `any` and the minor looks clean.
    makePackument({
      name: 'async-pkg',
      versions: [
        {
          version: '1.0.0',
          publishedAt: old,
          extra: { types: 'index.d.ts' },
          files: {
            'index.d.ts': 'export declare function load(source: Promise<string>): Map<string, number>;\n',
          },
        },
        {
          version: '1.1.0',
          publishedAt: recent,
          extra: { types: 'index.d.ts' },
          files: {
            'index.d.ts': 'export declare function load(source: Set<string>): Map<string, number>;\n',
          },
        },
      ],
    }),
    makePackument({
      name: 'plain-js',
      versions: [
        {
          version: '1.0.0',
          publishedAt: old,
          files: { 'index.js': 'exports.current = 1;\nexports.legacy = 2;\n' },
        },
        {
          version: '1.1.0',
          publishedAt: recent,
          files: { 'index.js': 'exports.current = 1;\nexports.extra = 3;\n' },
        },
      ],
    }),
  ];
}
