// CPU affinity for the benches' processes (Linux `taskset`, util-linux): on a machine of few cores
// a service and the client driving it compete for the same CPUs, and pinning them apart shows
// what each costs when it has its own (a proxy on its own host, or a machine with cores to spare).
import { execFileSync } from 'node:child_process';

/**
 * Pins every thread of process `pid` to `cpus` (a CPU number or a `taskset -c` list such as
 * `0-2`). Threads the process starts later inherit the mask from the thread that starts them.
 */
export function pinToCpus(cpus, pid) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpus), String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`cannot pin process ${pid} to CPU ${cpus} with taskset (util-linux): ${err.message}`);
  }
}
