// For tests that run the built CLI (bin/lockwarden.js) in a child process, as users start it.
import { resolve } from 'node:path';

export const BUILT_CLI = resolve(import.meta.dirname, '..', '..', 'bin', 'lockwarden.js');

/** A child's environment: HOME in `home`, the downloads and GitHub APIs unreachable (port 9). */
export function builtCliEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LOCKWARDEN_DOWNLOADS_URL: 'http://127.0.0.1:9/',
    GITHUB_API_URL: 'http://127.0.0.1:9/',
    ...extra,
  };
}
