// npm run bench:typosquatting: the typosquatting evaluation's figures on every set (issue 15),
// with the misses and false alerts spelled out, and the cost of one name on a fresh index
// (what `lockwarden check` pays) and on a warm one (what an audit or the proxy pays).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findLookalike } from '../src/policy/find-lookalike.js';
import {
  evaluateTyposquattingSets,
  formatEvaluation,
  productIndex,
} from '../test/helpers/typosquatting-eval.js';

// This file runs bundled in bench/.build/.
const fixtures = pathToFileURL(path.resolve(import.meta.dirname, '../../test/fixtures/typosquatting/'));
const started = performance.now();
const result = evaluateTyposquattingSets(productIndex(), new URL(`${fixtures.href}/`));
const elapsed = performance.now() - started;
console.log(formatEvaluation(result));
for (const split of ['dev', 'holdout'] as const) {
  for (const miss of result.malicious[split].misses) {
    console.log(
      `  miss (${split}, ${miss.shape}): ${miss.name} -> ${miss.expected}; got ${miss.got ?? 'nothing'}`,
    );
  }
}
const alerts = [
  ...result.legitimate.dev.flagged,
  ...result.legitimate.holdout.flagged,
  ...result.established.dev.flagged,
  ...result.established.holdout.flagged,
];
for (const { name, target, technique } of alerts)
  console.log(`  false alert: ${name} -> ${target} (${technique})`);

const names = ['expres', 'getstream', 'left-pad', 'reakt', '@tpyes/node', 'body-parse'];
for (const name of names) {
  const index = productIndex();
  const t0 = performance.now();
  const found = findLookalike(name, index);
  const cold = performance.now() - t0;
  console.log(`  ${name}: ${cold.toFixed(2)} ms on a fresh index -> ${found ? found.target : 'nothing'}`);
}
console.log(
  `evaluated ${Object.values(result.established).reduce((n, e) => n + e.total, 0) + 500} names in ${elapsed.toFixed(0)} ms`,
);
