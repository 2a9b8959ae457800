#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in lib/ (npm run build).
import { runCli } from '../lib/src/cli/main.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
