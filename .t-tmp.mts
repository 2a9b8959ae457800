import { readLockfile } from './src/lockfile/read-lockfile.ts';
import { readFileSync } from 'node:fs';
for (const d of process.argv.slice(2)) {
  const t0 = performance.now();
  const inv = await readLockfile(d);
  const ms = performance.now() - t0;
  const text = readFileSync(inv.file, 'utf8').split('\n');
  let bad = 0, badEx=[];
  for (const e of inv.entries) for (const l of e.locations) { const lt = text[l.line-1] ?? ''; const last = l.key.split('node_modules/').pop(); if (!lt.includes(inv.lockfileVersion===1 ? `"${last}"` : `"${l.key}"`)) { bad++; if (badEx.length<3) badEx.push([l, lt]); } }
  const locs = inv.entries.reduce((a, e) => a + e.locations.length, 0);
  const bundledOnly = inv.entries.filter(e=>e.bundled).length;
  const aliases = inv.entries.filter(e=>e.alias).map(e=>`${e.alias}->${e.name}@${e.version}`);
  console.log(d.split('/').pop(), {ms: Math.round(ms), entries: inv.entries.length, locs, skipped: inv.skipped.length, bundledOnly, bad, badEx, aliases: aliases.slice(0,4), maxPath: Math.max(...inv.entries.map(e=>e.path.length)), skipKinds: Object.entries(inv.skipped.reduce((a,s)=>{a[s.reason.split(':')[0].split(' ')[0]]=(a[s.reason.split(':')[0].split(' ')[0]]||0)+1;return a},{}))});
  for (const w of inv.warnings) console.log('  WARN', w);
}
