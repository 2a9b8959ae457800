// The loopback policy registry answers only under a secret path (it fetches with the user's
// credentials), so that path must not reach a command line: /proc/<pid>/cmdline is readable by
// every user of the machine, a process's environment and a 0600 file are not.
import { describe, expect, it } from 'vitest';
import { type PackageManager, updateCommand } from '../../src/engine/package-manager-commands.js';

const SECRET = '0123456789abcdef0123456789abcdef';
const REGISTRY = `http://127.0.0.1:5999/${SECRET}/`;
const MANAGERS: PackageManager[] = ['pnpm', 'yarn-classic', 'yarn-berry', 'bun'];

describe('updateCommand', () => {
  it.each(MANAGERS)('%s: the registry URL is in the environment or a private file, not in argv', (pm) => {
    for (const latest of [false, true]) {
      const command = updateCommand(pm, {
        names: ['left-pad'],
        latest,
        workspaces: true,
        registry: REGISTRY,
      });
      expect(command.args.join(' ')).not.toContain(SECRET);
      const given = [...Object.values(command.env), ...Object.values(command.files ?? {})].join('\n');
      expect(given).toContain(SECRET);
    }
  });

  it('yarn 1 reads the registry from its own rc file, which outranks the project .yarnrc', () => {
    const command = updateCommand('yarn-classic', {
      names: [],
      latest: false,
      workspaces: false,
      registry: REGISTRY,
    });
    const at = command.args.indexOf('--use-yarnrc');
    expect(at).toBeGreaterThanOrEqual(0);
    const file = command.args[at + 1]!;
    expect(command.files?.[file]).toBe(`--registry "${REGISTRY}"\n--upgrade.registry "${REGISTRY}"\n`);
  });
});

describe('updateCommand for Yarn Berry', () => {
  it('sends no credential to the loopback registry, not even the top-level token Yarn sends for scoped packages', () => {
    const command = updateCommand('yarn-berry', {
      names: [],
      latest: false,
      workspaces: false,
      registry: REGISTRY,
    });
    expect(command.env).toMatchObject({
      YARN_NPM_ALWAYS_AUTH: 'false',
      YARN_NPM_AUTH_TOKEN: '',
      YARN_NPM_AUTH_IDENT: '',
    });
  });
});
