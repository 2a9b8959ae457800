// Preloaded (node --import) into each benchmarked CLI process, this build's or a baseline's: on
// exit it reports the process's CPU time (user + system) on stderr. On a shared, loaded machine
// CPU time per run moves far less than wall time, so before/after comparisons print both.
process.on('exit', () => {
  const cpu = process.cpuUsage();
  process.stderr.write(
    `\nLOCKWARDEN_BENCH_CPU_USER_MS=${Math.round(cpu.user / 1000)} SYS_MS=${Math.round(cpu.system / 1000)}\n`,
  );
});
