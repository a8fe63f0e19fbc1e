/**
 * The embedded store's message map: `messages.db`, in NeDB's own datafile
 * format, kept by a purpose-built log instead of a NeDB datastore.
 *
 * Why, and the file's format, durability and group commit: datafile.ts. The map needs only
 * three lookups (by Matrix event, by remote message, by age), which plain Maps answer; a put is
 * seen by lookups at once, before its line is on disk.
 *
 * Memory: the embedded store holds the whole map (message_retention_days of
 * it), so a record in memory keeps only what a lookup returns. The file's
 * `_id`, `ev` and `rk` keys are derived when a line is written; lookups go
 * room → event and portal → remote ID through nested Maps keyed by strings
 * the record holds anyway, and a key with one record holds it without an array.
 */
import { portalKeyString, type PortalKey } from '../../connector/ids';
import { cleanPortalKey } from '../common';
import type { MessageRecord, MessageRepository } from '../store';
import { DatafileRepository } from './datafile';

const SEP = '\u0000';

/** A record as held in memory. `pk` is portalKeyString(portal), shared by the portal's records. */
interface MessageDoc {
  roomId: string;
  eventId: string;
  portal: PortalKey;
  pk: string;
  remoteId: string;
  part: number;
  sender: string;
  timestamp: number;
  body?: string;
}

/** A line of the file: NeDB's `_id`, and `ev`/`rk` as earlier versions indexed them. */
type FileDoc = Omit<MessageDoc, 'pk'> & { _id: string; ev: string; rk: string };

/** The records under one key: most keys have one, held without an array. */
type Slot = MessageDoc | MessageDoc[];

export class MessageLog extends DatafileRepository implements MessageRepository {
  readonly what = 'message map';
  /** room ID → event ID → the event's parts. */
  private readonly byEvent = new Map<string, Map<string, Slot>>();
  /** portal key string → remote ID → its records (one per room it reached). */
  private readonly byRemote = new Map<string, Map<string, Slot>>();
  /** One portal key object and key string per portal, shared by its records. */
  private readonly portals = new Map<string, { portal: PortalKey; pk: string }>();
  /** Records in memory. */
  private live = 0;

  private constructor() {
    super();
  }

  /** Loads `file` (missing = empty) and opens it for appending. */
  static async open(file: string): Promise<MessageLog> {
    const m = new MessageLog();
    await m.openFile(file);
    return m;
  }

  // ---- the datafile's owner ------------------------------------------------------------

  loadDoc(doc: Record<string, unknown>): boolean {
    if (!isFileDoc(doc)) return false;
    this.remember(this.toDoc(doc));
    return true;
  }

  loadDeletion(id: string): void {
    const parsed = parseId(id);
    if (parsed) this.forget(parsed.roomId, parsed.eventId, parsed.part);
  }

  liveCount(): number {
    return this.live;
  }

  *liveLines(): IterableIterator<string> {
    for (const doc of this.docs()) yield toLine(doc);
  }

  // ---- the repository ------------------------------------------------------------

  put(r: MessageRecord): Promise<void> {
    this.assertOpen();
    const doc = this.toDoc(r);
    this.remember(doc);
    return this.append(toLine(doc));
  }

  async getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    const docs = list(this.byEvent.get(roomId)?.get(eventId));
    return docs.sort((a, b) => a.part - b.part).map(toRecord);
  }

  async getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    const docs = list(this.byRemote.get(portalKeyString(cleanPortalKey(portal)))?.get(remoteId));
    return docs.sort((a, b) => a.part - b.part || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0)).map(toRecord);
  }

  async deleteByEvent(roomId: string, eventId: string): Promise<void> {
    this.assertOpen();
    const docs = list(this.byEvent.get(roomId)?.get(eventId));
    if (docs.length === 0) return;
    for (const d of docs) this.forget(d.roomId, d.eventId, d.part);
    await this.append(docs.map(tombstone).join('\n'), docs.length);
  }

  async prune(olderThan: number): Promise<number> {
    this.assertOpen();
    const old: MessageDoc[] = [];
    for (const d of this.docs()) if (d.timestamp < olderThan) old.push(d);
    if (old.length === 0) return 0;
    for (const d of old) this.forget(d.roomId, d.eventId, d.part);
    await this.append(old.map(tombstone).join('\n'), old.length);
    return old.length;
  }

  async count(): Promise<number> {
    return this.live;
  }

  // ---- memory ----------------------------------------------------------------------

  /** The shared key object and key string for a portal. */
  private portal(key: PortalKey): { portal: PortalKey; pk: string } {
    const clean = cleanPortalKey(key);
    const pk = portalKeyString(clean);
    let known = this.portals.get(pk);
    if (!known) this.portals.set(pk, (known = { portal: clean, pk }));
    return known;
  }

  /** The in-memory form of a record (or of a line read from the file). */
  private toDoc(d: MessageRecord): MessageDoc {
    const { portal, pk } = this.portal(d.portal);
    const doc: MessageDoc = {
      roomId: d.roomId,
      eventId: d.eventId,
      portal,
      pk,
      remoteId: d.remoteId,
      part: d.part,
      sender: d.sender,
      timestamp: d.timestamp,
    };
    if (d.body !== undefined) doc.body = d.body;
    return doc;
  }

  private remember(doc: MessageDoc): void {
    this.forget(doc.roomId, doc.eventId, doc.part);
    add(this.byEvent, doc.roomId, doc.eventId, doc);
    add(this.byRemote, doc.pk, doc.remoteId, doc);
    this.live++;
  }

  private forget(roomId: string, eventId: string, part: number): void {
    const old = list(this.byEvent.get(roomId)?.get(eventId)).find((d) => d.part === part);
    if (!old) return;
    remove(this.byEvent, old.roomId, old.eventId, old);
    remove(this.byRemote, old.pk, old.remoteId, old);
    this.live--;
  }

  /** Every record in memory. */
  private *docs(): IterableIterator<MessageDoc> {
    for (const events of this.byEvent.values()) for (const slot of events.values()) yield* list(slot);
  }
}

/** NeDB's `_id` of a record: one per (room, event, part). */
function idOf(d: MessageDoc): string {
  return d.roomId + SEP + d.eventId + SEP + d.part;
}

function parseId(id: string): { roomId: string; eventId: string; part: number } | null {
  const [roomId, eventId, part, ...rest] = id.split(SEP);
  return eventId === undefined || part === undefined || rest.length || !/^\d+$/.test(part) ? null : { roomId, eventId, part: Number(part) };
}

/** The record's line in the file, with the keys NeDB and earlier versions read. */
function toLine(d: MessageDoc): string {
  const ev = d.roomId + SEP + d.eventId;
  const line: FileDoc = {
    _id: ev + SEP + d.part,
    ev,
    rk: d.pk + SEP + d.remoteId,
    roomId: d.roomId,
    eventId: d.eventId,
    portal: d.portal,
    remoteId: d.remoteId,
    part: d.part,
    sender: d.sender,
    timestamp: d.timestamp,
  };
  if (d.body !== undefined) line.body = d.body;
  return JSON.stringify(line);
}

function tombstone(d: MessageDoc): string {
  return JSON.stringify({ $$deleted: true, _id: idOf(d) });
}

function list(slot: Slot | undefined): MessageDoc[] {
  return slot === undefined ? [] : Array.isArray(slot) ? [...slot] : [slot];
}

function add(m: Map<string, Map<string, Slot>>, k1: string, k2: string, d: MessageDoc): void {
  let inner = m.get(k1);
  if (!inner) m.set(k1, (inner = new Map<string, Slot>()));
  const slot = inner.get(k2);
  if (slot === undefined) inner.set(k2, d);
  else if (Array.isArray(slot)) slot.push(d);
  else inner.set(k2, [slot, d]);
}

function remove(m: Map<string, Map<string, Slot>>, k1: string, k2: string, d: MessageDoc): void {
  const inner = m.get(k1);
  const slot = inner?.get(k2);
  if (!inner || slot === undefined) return;
  if (Array.isArray(slot)) {
    const i = slot.indexOf(d);
    if (i >= 0) slot.splice(i, 1);
    if (slot.length === 1) inner.set(k2, slot[0]);
    else if (slot.length === 0) inner.delete(k2);
  } else if (slot === d) {
    inner.delete(k2);
  }
  if (inner.size === 0) m.delete(k1);
}

function isFileDoc(d: Record<string, unknown>): d is FileDoc & Record<string, unknown> {
  return (
    typeof d._id === 'string' &&
    typeof d.roomId === 'string' &&
    typeof d.eventId === 'string' &&
    typeof d.remoteId === 'string' &&
    typeof d.part === 'number' &&
    !!d.portal &&
    typeof d.portal === 'object'
  );
}

function toRecord(d: MessageDoc): MessageRecord {
  const r: MessageRecord = {
    roomId: d.roomId,
    eventId: d.eventId,
    portal: cleanPortalKey(d.portal),
    remoteId: d.remoteId,
    part: d.part,
    sender: d.sender,
    timestamp: d.timestamp,
  };
  if (d.body !== undefined) r.body = d.body;
  return r;
}
