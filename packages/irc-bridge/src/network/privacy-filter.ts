/**
 * The privacy filter (`membership.irc_to_matrix.require_matrix_joined`, MAI's
 * `requireMatrixJoined`): a channel's lines reach Matrix only while every Matrix
 * member of its rooms is on the channel, so nobody reads an IRC channel without
 * appearing in it. Networks whose policy is "listeners must be visible" need it.
 *
 * MAI dropped the lines silently (#1564, #1601: rooms went quiet for hours and
 * nobody knew why). Here a withheld line is counted; when lines are withheld for
 * longer than `graceMs` (more than the moment a joining member takes to appear on
 * IRC) the room is told which of its members are not on the channel, reminded at
 * most every `remindMs` while it lasts, and once lines flow again it is told how
 * many it missed. Withheld lines are never delivered later: that is the point.
 */
export interface PrivacyFilterDeps {
  /** Rooms linked to the channel (its portal and plumbed rooms). */
  roomsOf(channel: string): Promise<string[]>;
  /** Matrix users (not ghosts or the bot) joined to a room. */
  joinedMatrixUsers(roomId: string): Promise<string[]>;
  /** Whether the room turned the filter off for itself (per-room `allowUnconnectedMatrixUsers`). */
  exempt?(roomId: string): Promise<boolean>;
  /** A notice in a room, as the bot. */
  roomNotice(roomId: string, text: string): Promise<void>;
  /** One line withheld (for the metric). */
  onWithheld(): void;
  graceMs?: number;
  remindMs?: number;
  now?: () => number;
}

interface RoomState {
  label: string;
  withheld: number;
  /** Who is missing, as last seen ('' when another room of the channel is the reason). */
  missing: string;
  /** When the room was last told (0: not yet), and about whom. */
  toldAt: number;
  told: string;
  timer?: NodeJS.Timeout;
}

export class PrivacyFilter {
  private readonly rooms = new Map<string, RoomState>();
  private readonly graceMs: number;
  private readonly remindMs: number;
  private readonly now: () => number;

  constructor(private readonly d: PrivacyFilterDeps) {
    this.graceMs = d.graceMs ?? 10_000;
    this.remindMs = d.remindMs ?? 600_000;
    this.now = d.now ?? Date.now;
  }

  /**
   * Whether a line of `channel` may cross, given who of ours was on the channel when it arrived
   * (`onChannel`: Matrix user IDs whose connection had joined it). A channel linked to several
   * rooms crosses only if every room passes: the core delivers a line to all of them or none.
   */
  async allows(channel: string, label: string, onChannel: ReadonlySet<string>): Promise<boolean> {
    const roomIds = await this.d.roomsOf(channel);
    const missingByRoom = await Promise.all(
      roomIds.map(async (roomId) => ({
        roomId,
        missing: (await this.d.exempt?.(roomId)) ? [] : (await this.d.joinedMatrixUsers(roomId)).filter((u) => !onChannel.has(u)).sort(),
      })),
    );
    const ok = missingByRoom.every((r) => r.missing.length === 0);
    for (const { roomId, missing } of missingByRoom) this.note(roomId, label, missing, ok);
    if (!ok) this.d.onWithheld();
    return ok;
  }

  private note(roomId: string, label: string, missing: string[], crossed: boolean): void {
    const s = this.rooms.get(roomId);
    if (crossed) {
      if (!s) return;
      this.rooms.delete(roomId);
      clearTimeout(s.timer);
      const n = `${s.withheld} ${s.withheld === 1 ? 'message' : 'messages'}`;
      this.tell(
        roomId,
        s.toldAt
          ? `Messages from ${label} are bridged again; ${n} from it ${s.withheld === 1 ? 'was' : 'were'} not bridged meanwhile.`
          : `${n} from ${label} ${s.withheld === 1 ? 'was' : 'were'} not bridged while ${s.missing ? `${s.missing} ${s.missing.includes(',') ? 'were' : 'was'}` : 'members of another room linked to it were'} not yet on the IRC channel.`,
      );
      return;
    }
    const who = missing.join(', ');
    if (s) {
      s.withheld++;
      s.missing = who;
      // Already told: again when who is missing changed, or as a reminder.
      if (s.toldAt && (who !== s.told || this.now() - s.toldAt >= this.remindMs)) this.warn(roomId, s);
      return;
    }
    const state: RoomState = { label, withheld: 1, missing: who, toldAt: 0, told: '' };
    this.rooms.set(roomId, state);
    // A member who just joined the room is usually on the channel within a second or two; only
    // a longer wait is worth a notice (the count still comes when lines flow again).
    state.timer = setTimeout(() => {
      if (this.rooms.get(roomId) === state) this.warn(roomId, state);
    }, this.graceMs);
    state.timer.unref();
  }

  private warn(roomId: string, s: RoomState): void {
    s.toldAt = this.now();
    s.told = s.missing;
    this.tell(
      roomId,
      s.missing
        ? `Messages from ${s.label} are not bridged while these members of this room are not on the IRC channel: ${s.missing}. They join it when they send a message or are connected by the bridge; a moderator may remove members who should not read it.`
        : `Messages from ${s.label} are not bridged while members of another room linked to it are not on the IRC channel.`,
    );
  }

  /** Timers of rooms still withholding, for shutdown. */
  stop(): void {
    for (const s of this.rooms.values()) clearTimeout(s.timer);
    this.rooms.clear();
  }

  private tell(roomId: string, text: string): void {
    void this.d.roomNotice(roomId, text).catch(() => undefined);
  }
}
