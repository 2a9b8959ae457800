#!/usr/bin/env node
// Thin launcher: the CLI is bundled into lib/cli/ (npm run build; scripts/build-cli.mjs says why).
import module from 'node:module';
import v8 from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it fast (Liftoff), then,
// once the parser has run a little (one response is enough), again with its optimizing compiler
// on a background thread, and Node.js waits for that compilation before the process exits: about
// 90 ms of CPU and more of wall time at the end of a `lockwarden check` that sent one request
// (npm run bench:check), for code the run never uses. Command-line runs keep the fast compile;
// the service, which runs long and parses every proxied response, keeps the optimized one.
if (process.argv[2] !== 'serve') v8.setFlagsFromString('--liftoff-only');

// V8's compile cache (Node.js 22.1+, in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns
// it off): later starts reuse the compiled code of lib/ and its dependencies, which is most of a
// `lockwarden check`'s start-up. Node.js 20 has none. Before the import, which it must see.
module.enableCompileCache?.();
const { runCli } = await import('../lib/cli/main.js');

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
