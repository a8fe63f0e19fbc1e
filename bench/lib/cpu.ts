/** CPU time of the current process: what a relay costs per message, a figure other load on the machine moves less than latency. */

/** User + system CPU time of this process (all threads) so far, in ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
