/**
 * Bringing existing portal rooms' bridge info (bridge-info.ts) up to date on start.
 *
 * Rooms created or linked before the bridge sent bridge info have none, and a room's content goes
 * stale when what it shows changes (the operator renames the network, a connector adds links).
 * Linking an already-linked room does nothing, so without this those rooms would never be fixed;
 * an upgrade should fix them on its own, with no flag for the operator to remember.
 *
 * - Each start walks every non-DM portal in the background (the bridge answers transactions and
 *   relays meanwhile) and sends bridge info only where the fingerprint of what the room last
 *   accepted (bridge-info-record.ts) differs from the content now: a start with nothing changed
 *   costs no homeserver request.
 * - A few rooms at a time (each room is two state events), so a bridge with thousands of rooms
 *   does not crowd out live traffic; the HTTP client's 429 backoff does the rest.
 * - A room that refuses (no power to send state in a plumbed room: 403) is logged once and counted
 *   as failed; it keeps its old fingerprint, so the next start tries again. Nothing here throws.
 * - Rooms the bot is recorded as having left or been banned from are skipped: putting a banner
 *   there is no reason to re-join a room someone removed the bridge from.
 * - If the connector cannot describe a room now, the room is left as it is rather than having its
 *   names replaced by bare IDs.
 * - Progress is logged every PROGRESS_EVERY_MS on a long walk, and a summary at the end:
 *   "bridge info: N rooms updated, M already current, K failed".
 */
import type { Logger } from '../logging/logger';
import type { Intent } from '../matrix/intent';
import type { Portal } from '../connector/portal';
import type { BridgeInfoPublisher } from './bridge-info';
import { bridgeInfoFingerprint, type BridgeInfoRecord, type BridgeInfoSent } from './bridge-info-record';
import { portalKeyString } from '../connector/ids';

/** Rooms refreshed at once (two state requests each). */
const CONCURRENT_ROOMS = 2;
const PROGRESS_EVERY_MS = 15_000;

export interface BridgeInfoSyncSummary {
  /** Rooms sent new bridge info. */
  updated: number;
  /** Rooms whose bridge info was already what it would be now. */
  current: number;
  /** Rooms where sending failed (or the connector could not describe them); tried again next start. */
  failed: number;
  /** Rooms the bot is not in. */
  skipped: number;
}

export interface BridgeInfoSyncDeps {
  portals: { list(): Promise<Portal[]>; getByRoom(roomId: string): Promise<Portal | undefined> };
  publisher: BridgeInfoPublisher;
  record: BridgeInfoRecord;
  bot: Pick<Intent, 'cachedMembership'>;
  log: Logger;
  /** Defaults to CONCURRENT_ROOMS. */
  concurrency?: number;
}

export class BridgeInfoSync {
  private run?: Promise<BridgeInfoSyncSummary | undefined>;
  private stopping = false;

  constructor(private readonly deps: BridgeInfoSyncDeps) {}

  /** Start the walk in the background (once). */
  start(): void {
    this.run ??= this.walk().catch((err) => {
      this.deps.log.warn('bridge info: could not check portal rooms; trying again on the next start', { err: String(err) });
      return undefined;
    });
  }

  /** The walk's summary once it is over (undefined if it could not run or was not started); for tests and tools. */
  done(): Promise<BridgeInfoSyncSummary | undefined> {
    return this.run ?? Promise.resolve(undefined);
  }

  /** Stop taking new rooms and wait for the ones in flight, so nothing writes to a closed store. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.run;
  }

  private async walk(): Promise<BridgeInfoSyncSummary | undefined> {
    const { log } = this.deps;
    const portals = (await this.deps.portals.list()).filter((p) => p.kind !== 'dm');
    const sent = await this.deps.record.all();
    const summary: BridgeInfoSyncSummary = { updated: 0, current: 0, failed: 0, skipped: 0 };
    if (!portals.length) return summary;
    log.info(`bridge info: checking ${portals.length} portal rooms in the background`);
    let next = 0;
    let lastProgress = Date.now();
    const worker = async (): Promise<void> => {
      while (!this.stopping && next < portals.length) {
        const portal = portals[next++];
        const outcome = await this.refresh(portal, sent.get(portal.roomId));
        if (outcome) summary[outcome]++;
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = Date.now();
          log.info(`bridge info: ${next}/${portals.length} rooms checked`, { ...summary });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.deps.concurrency ?? CONCURRENT_ROOMS) }, worker));
    if (this.stopping && next < portals.length) {
      log.info(`bridge info: stopped after ${next}/${portals.length} rooms; the rest are checked on the next start`, { ...summary });
      return summary;
    }
    const line =
      `bridge info: ${summary.updated} rooms updated, ${summary.current} already current, ${summary.failed} failed` +
      (summary.skipped ? `, ${summary.skipped} skipped (the bot is not in them)` : '');
    if (summary.failed) log.warn(`${line}; failed rooms are tried again on the next start`);
    else log.info(line);
    return summary;
  }

  /** What happened to one room; undefined when it is no longer the portal listed (not counted). */
  private async refresh(listed: Portal, sent: BridgeInfoSent | undefined): Promise<keyof BridgeInfoSyncSummary | undefined> {
    const { publisher, log } = this.deps;
    const where = { roomId: listed.roomId, network: listed.key.network, channel: listed.key.id };
    try {
      // Unlinked or relinked since the list was read: the unlink or link took care of it.
      const portal = await this.deps.portals.getByRoom(listed.roomId);
      if (!portal || portalKeyString(portal.key) !== portalKeyString(listed.key)) return undefined;
      const membership = await this.deps.bot.cachedMembership(portal.roomId);
      if (membership === 'leave' || membership === 'ban') {
        log.debug('bridge info: the bot is not in this room; leaving it as it is', where);
        return 'skipped';
      }
      let events;
      try {
        events = await publisher.stateEvents(portal, sent?.creator, { requireDisplay: true });
      } catch (err) {
        log.warn('bridge info: the connector could not describe this room; leaving its bridge info as it is', {
          ...where,
          err: String(err),
        });
        return 'failed';
      }
      if (sent?.fingerprint === bridgeInfoFingerprint(events)) return 'current';
      // publishEvents logs its own failure (once for the room) and remembers only what was accepted.
      if (!(await publisher.publishEvents(portal, events, sent?.creator))) return 'failed';
      // An unlink that raced this send may have blanked the room first: blank it again, last.
      const after = await this.deps.portals.getByRoom(portal.roomId);
      if (!after || portalKeyString(after.key) !== portalKeyString(portal.key)) await publisher.clear(portal);
      return 'updated';
    } catch (err) {
      log.warn('bridge info: could not check this room', { ...where, err: String(err) });
      return 'failed';
    }
  }
}
