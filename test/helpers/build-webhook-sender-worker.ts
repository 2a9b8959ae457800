// The webhook sender thread's module as the CLI bundle ships it: tests that run the service from
// TypeScript (where the worker file is absent and posting runs inline) build it to exercise the
// thread.
import path from 'node:path';
import { build } from 'esbuild';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** How the tests bundle TypeScript to run in a process or thread: dependencies from node_modules. */
export const TEST_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'silent',
} as const;

/** Bundles server/webhook-sender-worker.ts to `outfile`. */
export async function buildWebhookSenderWorker(outfile: string): Promise<void> {
  await build({
    entryPoints: [path.join(REPO_ROOT, 'server/webhook-sender-worker.ts')],
    ...TEST_BUNDLE_OPTIONS,
    outfile,
  });
}
