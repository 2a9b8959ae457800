// Runs the built CLI in this process and reports its peak RSS on stderr, for the benchmarks.
import { runCli } from '../lib/src/cli/main.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.stderr.write(`\nLOCKWARDEN_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
