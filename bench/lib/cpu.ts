/** CPU time of the current process: what a relay costs per message, a figure other load on the machine moves less than latency. */
import { readFileSync } from 'node:fs';

/** User + system CPU time of this process (all threads) so far, in ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time of this process's main thread alone, ms (Linux schedstat; NaN elsewhere). */
export function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}
