/**
 * A V8 CPU profile of this process over chosen stretches of a bench (the bridge's own phases),
 * written as a `.cpuprofile` that Chrome DevTools and `node --cpu-prof` tooling open. The
 * inspector profiler cannot pause, so each stretch is its own profile and `write` joins them:
 * samples and time deltas appended, node ids offset, one file.
 */
import { writeFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector/promises';

export interface CpuProfile {
  resume(): Promise<void>;
  pause(): Promise<void>;
  write(): Promise<void>;
}

/** A profile written to `file`; with an empty `file`, a profile that does nothing. */
export function cpuProfile(file: string): CpuProfile {
  if (!file) return { resume: async () => undefined, pause: async () => undefined, write: async () => undefined };
  const session = new Session();
  session.connect();
  const parts: Profiler.Profile[] = [];
  let ready: Promise<unknown> | undefined;
  return {
    async resume() {
      ready ??= session.post('Profiler.enable').then(() => session.post('Profiler.setSamplingInterval', { interval: 200 }));
      await ready;
      await session.post('Profiler.start');
    },
    async pause() {
      parts.push((await session.post('Profiler.stop')).profile);
    },
    async write() {
      if (parts.length === 0) return;
      writeFileSync(file, JSON.stringify(joinProfiles(parts)));
      session.disconnect();
      console.log(`CPU profile of the bridge's phases: ${file}`);
    },
  };
}

function joinProfiles(parts: Profiler.Profile[]): Profiler.Profile {
  const out: Profiler.Profile = { nodes: [], startTime: parts[0].startTime, endTime: parts[0].endTime, samples: [], timeDeltas: [] };
  let offset = 0;
  for (const p of parts) {
    const shift = (id: number) => id + offset;
    for (const n of p.nodes) out.nodes.push({ ...n, id: shift(n.id), children: n.children?.map(shift) });
    out.samples!.push(...(p.samples ?? []).map(shift));
    out.timeDeltas!.push(...(p.timeDeltas ?? []));
    out.endTime = p.endTime;
    offset += Math.max(...p.nodes.map((n) => n.id));
  }
  return out;
}
