// esbuild options shared by the two bundles of lockwarden (the Action, scripts/build-action.mjs;
// the command line, scripts/build-cli.mjs): ESM for Node.js 20+, readable, with a metafile.
export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  mainFields: ['module', 'main'],
  conditions: ['node', 'import'],
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  minify: false,
  treeShaking: true,
  logLevel: 'warning',
  metafile: true,
};
