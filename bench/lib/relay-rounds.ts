/**
 * Rounds of "the bridge against a minimal relay", as the Slack and Gitter benches measure them:
 * each direction is run through the bridge and through the minimal relay in every round (the two
 * alternate which goes first, so neither always gets the warmer or the quieter machine), and the
 * table gives the median of each figure over the rounds, the bridge ÷ minimal ratios and verdicts
 * against the issues' targets: p99 ≤ 2× the minimal relay's, none lost, none duplicated.
 */
import * as os from 'node:os';
import { arg } from '../cli';
import { cpuProfile } from './profile';
import { lats, median } from './stats';
import type { ReceiptStats } from './receipts';
import { fmtEld, type Child, type Eld } from './roles';
import { formatTable, ms, ratio } from './table';
import { collect, sleep } from './timing';

export type Relay = 'bridge' | 'minimal';

/** One direction through one relay: what was sent, what arrived when, and the relay process's CPU over the phase. */
export interface PhaseResult {
  sent: number;
  lat: number[];
  duplicated: number;
  misordered: number;
  /** CPU time of the relay's process (user + system, all threads) from the first send to the last receipt. */
  cpuMs: number;
  /** The relay process's event-loop delay over the phase: a stall there delays every message in flight. */
  eld?: Eld;
}

export interface Direction {
  /** e.g. "Slack→Matrix". */
  name: string;
  run(relay: Relay, tag: string): Promise<PhaseResult>;
}

interface Row {
  relay: Relay;
  round: number;
  r: PhaseResult;
  p50: number;
  p99: number;
  cpuPerMsg: number;
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/**
 * Runs the rounds, prints each phase and then the table; returns whether every target was met.
 *
 * `--only <text>` keeps the directions whose name contains it (e.g. `--only Matrix→`);
 * `--profile <file>` writes a V8 CPU profile of this process (the bridge) over its own phases.
 */
export async function relayRounds(opts: { rounds: number; directions: Direction[]; minimalLabel: string }): Promise<boolean> {
  const only = arg('only', '');
  const directions = only ? opts.directions.filter((d) => d.name.includes(only)) : opts.directions;
  if (directions.length === 0) throw new Error(`--only ${only}: no direction's name contains it`);
  const profile = cpuProfile(arg('profile', ''));
  const results = new Map<string, Row[]>();
  for (let round = 0; round < opts.rounds; round++) {
    const order: Relay[] = round % 2 === 0 ? ['bridge', 'minimal'] : ['minimal', 'bridge'];
    for (const [d, dir] of directions.entries()) {
      for (const relay of order) {
        if (relay === 'bridge') await profile.resume();
        const r = await dir.run(relay, `${relay[0]}${d}r${round}`);
        if (relay === 'bridge') await profile.pause();
        const l = lats(r.lat);
        const row: Row = { relay, round, r, p50: l.p50, p99: l.p99, cpuPerMsg: r.cpuMs / Math.max(1, r.lat.length) };
        const key = `${dir.name} ${relay}`;
        results.set(key, [...(results.get(key) ?? []), row]);
        console.log(
          `round ${round + 1} ${dir.name} ${relay === 'bridge' ? 'bridge ' : 'minimal'}: ${r.lat.length}/${r.sent} delivered, ` +
            `${r.duplicated} duplicated, ${r.misordered} out of order; p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}; ` +
            `CPU ${row.cpuPerMsg.toFixed(3)} ms/msg${r.eld ? `; event-loop delay ${fmtEld(r.eld)}` : ''}; load ${load()}`,
        );
      }
    }
  }

  const verdicts: boolean[] = [];
  const verdict = (ok: boolean, text: string) => {
    verdicts.push(ok);
    return `${ok ? 'PASS' : 'MISS'} ${text}`;
  };
  await profile.write();
  const rows: string[][] = [];
  for (const dir of directions) {
    const b = results.get(`${dir.name} bridge`) ?? [];
    const m = results.get(`${dir.name} minimal`) ?? [];
    const sum = (rs: Row[], f: (r: PhaseResult) => number) => rs.reduce((a, x) => a + f(x.r), 0);
    const lost = (rs: Row[]) => sum(rs, (r) => r.sent - r.lat.length);
    const med = (rs: Row[], f: (x: Row) => number) => median(rs.map(f));
    // The ratio per round, then its median: both relays of a round shared that round's machine.
    const p99Ratio = median(b.map((x, i) => x.p99 / (m[i]?.p99 ?? NaN)));
    rows.push([`${dir.name}: sent`, `${sum(b, (r) => r.sent)}`, `${sum(m, (r) => r.sent)}`, '', '']);
    rows.push([`${dir.name}: lost`, `${lost(b)}`, `${lost(m)}`, '', verdict(lost(b) === 0, '0')]);
    rows.push([
      `${dir.name}: duplicated`,
      `${sum(b, (r) => r.duplicated)}`,
      `${sum(m, (r) => r.duplicated)}`,
      '',
      verdict(sum(b, (r) => r.duplicated) === 0, '0'),
    ]);
    rows.push([`${dir.name}: out of order (per room)`, `${sum(b, (r) => r.misordered)}`, `${sum(m, (r) => r.misordered)}`, '', '']);
    const bp50 = med(b, (x) => x.p50);
    const mp50 = med(m, (x) => x.p50);
    rows.push([`${dir.name}: p50 latency`, ms(bp50), ms(mp50), ratio(bp50, mp50), '']);
    rows.push([
      `${dir.name}: p99 latency`,
      ms(med(b, (x) => x.p99)),
      ms(med(m, (x) => x.p99)),
      Number.isNaN(p99Ratio) ? '–' : `${p99Ratio.toFixed(2)}×`,
      verdict(p99Ratio <= 2, '≤ 2×'),
    ]);
    const bc = med(b, (x) => x.cpuPerMsg);
    const mc = med(m, (x) => x.cpuPerMsg);
    rows.push([`${dir.name}: CPU per message`, `${bc.toFixed(3)} ms`, `${mc.toFixed(3)} ms`, ratio(bc, mc), '']);
  }
  console.log(`\nmedian of ${opts.rounds} round(s); the p99 ratio is the median of each round's ratio`);
  console.log(formatTable(['', 'bridge', opts.minimalLabel, 'bridge/minimal', 'target'], rows));
  console.log(`machine load after the run: ${load()} (${os.cpus().length} CPUs)`);
  const ok = verdicts.every(Boolean);
  console.log(ok ? 'PASS' : 'MISS');
  return ok;
}

/**
 * One phase: `sender`'s `send` command emits `count` stamped messages at `rate`/s through `relay`,
 * `receiver` times them; the relay's CPU is read before the first send and after the last receipt
 * (or the deadline). Late duplicates are still counted for `dupGraceMs` after that.
 */
export async function runPhase(o: {
  relay: Relay;
  tag: string;
  count: number;
  rate: number;
  sender: Child;
  receiver: Child;
  cpuMs: () => Promise<number>;
  collectMs?: number;
  dupGraceMs?: number;
  /** The relay process's event-loop delay since the last reset (`reset` starts a new period). */
  eld?: (reset: boolean) => Promise<Eld>;
}): Promise<PhaseResult> {
  await o.eld?.(true);
  const cpu0 = await o.cpuMs();
  await o.sender.call('send', { count: o.count, rate: o.rate, tag: o.tag, relay: o.relay });
  await collect(() => o.receiver.call<number>('count', { tag: o.tag }), o.count, o.collectMs ?? 60_000);
  const cpuMs = (await o.cpuMs()) - cpu0;
  const eld = await o.eld?.(false);
  await sleep(o.dupGraceMs ?? 1000);
  const r = await o.receiver.call<ReceiptStats>('take', { tag: o.tag });
  return { sent: o.count, lat: r.lat, duplicated: r.duplicated, misordered: r.misordered, cpuMs, eld };
}
