/**
 * Free loopback ports for the servers specs start (InspIRCd listeners, the bridge's own ports).
 *
 * Picked below the kernel's ephemeral range, not with listen(0): a port from listen(0) is an
 * ephemeral port, so between closing the probe socket and the server binding the port, any
 * outgoing connection on the machine may take it as its local port. InspIRCd then starts without
 * that listener (it only warns), and a spec waits for connections that can never succeed.
 * Outgoing connections never use ports below the range. A port is handed out once per process.
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';

const handedOut = new Set<number>();

/** The kernel's ephemeral range (Linux), or the IANA one elsewhere. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    /* not Linux */
  }
  return 49152;
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - 15_000);
  if (high - low < 1000) throw new Error(`no room below the ephemeral port range (starts at ${high + 1})`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on ${host} between ${low} and ${high}`);
}
