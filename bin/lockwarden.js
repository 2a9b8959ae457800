#!/usr/bin/env node
// Thin launcher: the CLI is bundled into lib/cli/ (npm run build; scripts/build-cli.mjs says why).
import module from 'node:module';

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
