import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it, expect } from 'vitest';
import { startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
it.each([['public'], ['mirror']] as const)('npm installs from the %s fake', async (shape) => {
  const reg = await startFakeRegistry({ shape, packuments: [
    makePackument({ name: 'left-padder', versions: [{ version: '1.0.0', publishedAt: new Date('2025-01-01') }] }),
    makePackument({ name: '@acme/widget', versions: [{ version: '0.3.0', publishedAt: new Date('2025-01-01'), dependencies: { 'left-padder': '^1.0.0' } }] }),
  ]});
  const dir = mkdtempSync('/tmp/lwcheck/p-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { '@acme/widget': '0.3.0' } }));
  let out = '';
  try {
  out = execFileSync('npm', ['install', '--registry', reg.url, '--cache', join(dir, '.cache'), '--no-audit', '--no-fund', '--userconfig', join(dir, 'nope')], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) { console.log('ERR', (e as any).stderr, reg.requests.map(r => r.path)); throw e; }
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  console.log(shape, out.trim(), Object.keys(lock.packages), reg.requests.map(r => r.path));
  expect(readFileSync(join(dir, 'node_modules/left-padder/index.js'), 'utf8')).toContain('left-padder@1.0.0');
  await reg.close();
}, 60000);
