// The client sandbox's environment and runner for tests that keep their own list of temporary
// directories (one definition of the sandboxed environment: test/helpers/client-sandbox.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientSandbox } from './client-sandbox.js';

/** The sandboxed environment for a real client pointed at `registry`; its HOME joins `temps`. */
export async function clientEnv(registry: string, temps: string[]): Promise<NodeJS.ProcessEnv> {
  const env = await clientSandbox().clientEnv(registry);
  if (env.HOME) temps.push(env.HOME);
  return env;
}

export function runClient(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return clientSandbox().run(cmd, args, cwd, env);
}

export async function installedVersion(dir: string, name: string): Promise<string> {
  return JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}
