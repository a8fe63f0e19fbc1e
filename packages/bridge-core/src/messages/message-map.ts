/**
 * The message map: which Matrix event is which remote message, in one place for both flows.
 * The Matrix → remote router records what a handler sent, the remote → Matrix applier what it
 * created, and a connector adds IDs its network gave later (`addRemoteIds`). Lookups come from
 * both sides: replies, edits, reactions and redactions find their target here.
 *
 * Writes stay off the serial paths (a store round trip per message would slow every room), yet a
 * lookup never misses a mapping recorded before it: each write is tracked under its room and its
 * portal, and a lookup first waits for the writes pending under the key it reads by.
 */
import { portalKeyString, type PortalKey } from '../connector/ids';
import type { LateEditRemoteIds, LateRemoteIds, RemoteMessageRef } from '../connector/matrix-events';
import type { MessageRecord, MessageRepository } from '../store/store';
import type { Logger } from '../logging/logger';
import { PendingWrites } from '../util/pending-writes';

const roomKey = (roomId: string) => `room\u0000${roomId}`;
const portalKey = (portal: PortalKey) => `portal\u0000${portalKeyString(portal)}`;

export class MessageMap {
  private readonly writes = new PendingWrites();

  constructor(
    private readonly repo: MessageRepository,
    private readonly log: Logger,
  ) {}

  /**
   * Store mappings without waiting; later lookups in the same room or portal wait for them. A
   * failure is logged with `consequence` (what will not work for the message), never thrown.
   */
  record(records: readonly MessageRecord[], consequence = 'edits and replies to it will not cross'): void {
    for (const rec of records) this.track(rec.roomId, rec.portal, this.put(rec, consequence));
  }

  /** Mappings of a Matrix event, in part order, once writes pending for its room have landed. */
  async byEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    await this.writes.settled(roomKey(roomId));
    return (await this.repo.getByEvent(roomId, eventId)).sort((a, b) => a.part - b.part);
  }

  /** Mappings of a remote message in a portal (every room it is bridged to), once pending writes have landed. */
  async byRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    await this.writes.settled(portalKey(portal));
    return this.repo.getByRemote(portal, remoteId);
  }

  /** What a connector is told about a bridged message (reply target, edited message, …). */
  async ref(roomId: string, eventId: string | undefined): Promise<RemoteMessageRef | undefined> {
    if (!eventId) return undefined;
    const records = await this.byEvent(roomId, eventId);
    const first = records[0];
    return (
      first && {
        remoteId: first.remoteId,
        remoteIds: records.map((r) => r.remoteId),
        eventId,
        sender: first.sender,
        body: first.body,
        timestamp: first.timestamp,
      }
    );
  }

  /** A redacted or deleted message leaves the map. */
  async forget(roomId: string, eventId: string): Promise<void> {
    await this.writes.settled(roomKey(roomId));
    await this.repo.deleteByEvent(roomId, eventId);
  }

  /**
   * IDs a message or edit got after its handler returned (`RemoteEventSink.addRemoteIds`).
   * Resolves once they are stored, so a remote event emitted after this finds them.
   */
  addRemoteIds(late: LateRemoteIds): Promise<void> {
    if ('edit' in late) return this.addEditRemoteIds(late);
    const m = late.message;
    this.record(
      late.remoteIds.map((remoteId, i) => ({
        roomId: m.portal.roomId,
        eventId: m.eventId,
        portal: m.portal.key,
        remoteId,
        part: late.firstPart + i,
        sender: m.sender.userId,
        timestamp: m.timestamp,
        body: m.content.body,
      })),
    );
    return this.writes.settled(portalKey(m.portal.key));
  }

  /** Resolves once the writes tracked so far for a portal have landed. */
  settled(portal: PortalKey): Promise<void> {
    return this.writes.settled(portalKey(portal));
  }

  /** Resolves once every write issued so far has landed (tests, shutdown). */
  idle(): Promise<void> {
    return this.writes.all();
  }

  /**
   * An edit's IDs join the edited event after its highest part. The parts are read, so the job runs
   * behind every write tracked for the portal so far (earlier late IDs of the message and of other
   * edits included: one at a time, no two jobs pick the same part) and is itself tracked before
   * this returns, so a remote reply emitted after this call finds the mapping.
   */
  private addEditRemoteIds(late: LateEditRemoteIds): Promise<void> {
    const e = late.edit;
    const earlier = this.writes.settled(portalKey(e.portal.key));
    const job = (async () => {
      await earlier;
      const parts = (await this.repo.getByEvent(e.portal.roomId, e.target.eventId)).map((r) => r.part);
      if (!parts.length) return; // the edited message is gone from the map (redacted, pruned)
      const next = Math.max(...parts) + 1;
      // Sender: the edited message's (only its author may edit). Timestamp and body: the edit's,
      // what this remote line is; the message's first part still gives replies its original text.
      await Promise.all(
        late.remoteIds.map((remoteId, i) =>
          this.repo.put({
            roomId: e.portal.roomId,
            eventId: e.target.eventId,
            portal: e.portal.key,
            remoteId,
            part: next + i,
            sender: e.target.sender,
            timestamp: e.timestamp,
            body: e.content.body,
          }),
        ),
      );
    })().catch((err) => {
      this.log.error('could not store a message mapping (replies to an edit will not cross)', {
        roomId: e.portal.roomId,
        eventId: e.target.eventId,
        err: String(err),
      });
    });
    this.track(e.portal.roomId, e.portal.key, job);
    return this.writes.settled(portalKey(e.portal.key));
  }

  private track(roomId: string, portal: PortalKey, write: Promise<unknown>): void {
    this.writes.track(roomKey(roomId), write);
    this.writes.track(portalKey(portal), write);
  }

  private put(rec: MessageRecord, consequence: string): Promise<void> {
    return this.repo.put(rec).catch((err) => {
      this.log.error(`could not store a message mapping (${consequence})`, { roomId: rec.roomId, eventId: rec.eventId, err: String(err) });
    });
  }
}
