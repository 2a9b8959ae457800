import Arborist from '@npmcli/arborist';
import { readFileSync } from 'node:fs';
import { readLockfile } from './src/lockfile/read-lockfile.ts';
import { locateLockfileLines } from './src/lockfile/locate-lines.ts';
import { parseLockfileText } from './src/lockfile/parse-lockfile-text.ts';
const d = process.argv[2];
for (let r = 0; r < 3; r++) {
  let t = performance.now(); const text = readFileSync(d + '/package-lock.json', 'utf8');
  parseLockfileText(text, 'x'); const tp = performance.now() - t; t = performance.now();
  const m = locateLockfileLines(text); const tl = performance.now() - t; t = performance.now();
  await new Arborist({ path: d }).loadVirtual(); const ta = performance.now() - t; t = performance.now();
  await readLockfile(d); const tr = performance.now() - t;
  console.log({ parse: tp.toFixed(1), locate: tl.toFixed(1), arborist: ta.toFixed(1), readLockfile: tr.toFixed(1), keys: m.size });
}
