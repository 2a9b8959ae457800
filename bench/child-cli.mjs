// Runs the built CLI in this process and reports its peak RSS on stderr, for the benchmarks.
// Sampled here rather than read from getrusage: on Linux a spawned child's ru_maxrss starts from
// the parent's size at fork, and the benchmark's parent holds hundreds of MB of fake documents.
import { existsSync } from 'node:fs';

// The CLI as bin/lockwarden.js loads it: the bundle in lib/cli/ when the build has one (a baseline
// checkout from before the bundle has only lib/src/), so a comparison measures what users run.
const bundled = new URL('../lib/cli/main.js', import.meta.url);
const { runCli } = await import(existsSync(bundled) ? bundled.href : '../lib/src/cli/main.js');

let peak = process.memoryUsage.rss();
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 10);
timer.unref();

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage.rss());
const cpu = process.cpuUsage();
process.stderr.write(`\nLOCKWARDEN_BENCH_MAXRSS_KB=${Math.round(peak / 1024)}\n`);
// CPU time (user + system): on a shared, loaded machine it moves far less than wall time.
process.stderr.write(`LOCKWARDEN_BENCH_CPU_MS=${Math.round((cpu.user + cpu.system) / 1000)}\n`);
process.exitCode = code;
