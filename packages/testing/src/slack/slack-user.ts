// A person using a Slack client, for specs: everything they do goes through the same actions
// as the Web API, so it produces the records and events real Slack would (client messages carry
// `client_msg_id` and rich_text blocks; joins, renames, topics and profile edits produce their
// events). Calls are synchronous: the events are queued for delivery when they return.
import { clientActor, type Actor } from './actor';
import type { Message, SlackFile, User } from './model';
import type { ProfileChanges } from './user-actions';
import type { Services } from './services';
import type { Conversation } from './model';

/** A conversation, by ID or as returned by the emulator. */
export type ChannelRef = string | { id: string };
/** A user, by ID or as a SlackUser / User. */
export type UserRef = string | { id: string };

export const idOf = (ref: ChannelRef | UserRef): string => (typeof ref === 'string' ? ref : ref.id);

export interface UploadOptions {
  name: string;
  data: Buffer;
  title?: string;
  /** What the person typed alongside the file. */
  comment?: string;
  threadTs?: string;
  /** Share it as a file of another service at this URL (`is_external`, the URL as `url_private`). */
  externalUrl?: string;
}

export class SlackUser {
  constructor(
    private services: Services,
    readonly id: string,
  ) {}

  get record(): User {
    return this.services.state.user(this.id);
  }

  get name(): string {
    return this.record.name;
  }

  get teamId(): string {
    return this.record.teamId;
  }

  private actor(): Actor {
    return clientActor(this.services.state, this.id);
  }

  private conv(ref: ChannelRef): Conversation {
    return this.services.state.conversation(idOf(ref));
  }

  /** Sends a message as typed (mentions as `<@U…>`, links as `<https://…|label>`). */
  post(channel: ChannelRef, text: string, opts: { threadTs?: string; broadcast?: boolean; blocks?: unknown[] } = {}): Message {
    return this.services.messages.post(this.actor(), this.conv(channel), {
      text,
      threadTs: opts.threadTs,
      broadcast: opts.broadcast,
      blocks: opts.blocks,
    });
  }

  /** Replies in the thread of `threadTs` (also to the channel with `broadcast`). */
  reply(channel: ChannelRef, threadTs: string, text: string, opts: { broadcast?: boolean } = {}): Message {
    return this.post(channel, text, { threadTs, broadcast: opts.broadcast });
  }

  /** /me text. */
  me(channel: ChannelRef, text: string): Message {
    return this.services.messages.post(this.actor(), this.conv(channel), { text, subtype: 'me_message' });
  }

  edit(channel: ChannelRef, ts: string, text: string): Message {
    return this.services.messages.edit(this.actor(), this.conv(channel), ts, { text });
  }

  delete(channel: ChannelRef, ts: string): void {
    this.services.messages.delete(this.actor(), this.conv(channel), ts);
  }

  react(channel: ChannelRef, ts: string, name: string): void {
    this.services.messages.react(this.actor(), this.conv(channel), ts, name);
  }

  unreact(channel: ChannelRef, ts: string, name: string): void {
    this.services.messages.unreact(this.actor(), this.conv(channel), ts, name);
  }

  join(channel: ChannelRef): void {
    this.services.conversations.selfJoin(this.actor(), this.conv(channel));
  }

  leave(channel: ChannelRef): void {
    this.services.conversations.leave(this.actor(), this.conv(channel));
  }

  invite(channel: ChannelRef, ...users: UserRef[]): void {
    this.services.conversations.invite(this.actor(), this.conv(channel), users.map(idOf));
  }

  /** Removes someone from the channel (as a channel manager would). */
  kick(channel: ChannelRef, user: UserRef): void {
    this.services.conversations.remove(idOf(user), this.conv(channel), this.id);
  }

  rename(channel: ChannelRef, name: string): void {
    this.services.conversations.rename(this.actor(), this.conv(channel), name);
  }

  setTopic(channel: ChannelRef, topic: string): void {
    this.services.conversations.setTopic(this.actor(), this.conv(channel), topic);
  }

  setPurpose(channel: ChannelRef, purpose: string): void {
    this.services.conversations.setPurpose(this.actor(), this.conv(channel), purpose);
  }

  archive(channel: ChannelRef): void {
    this.services.conversations.archive(this.actor(), this.conv(channel));
  }

  unarchive(channel: ChannelRef): void {
    this.services.conversations.unarchive(this.actor(), this.conv(channel));
  }

  createChannel(name: string, opts: { private?: boolean } = {}): Conversation {
    return this.services.conversations.create(this.actor(), name, opts.private ?? false);
  }

  /** The DM with one user, or the group DM with several. */
  openDm(...users: UserRef[]): Conversation {
    return this.services.conversations.open(this.actor(), users.map(idOf)).conversation;
  }

  /** Uploads a file from the client and shares it in the channel (a `file_share` message). */
  upload(channel: ChannelRef, opts: UploadOptions): { file: SlackFile; message: Message } {
    const actor = this.actor();
    const conv = this.conv(channel);
    const { files } = this.services;
    const file = files.start(actor, { filename: opts.name, length: Math.max(1, opts.data.length) });
    if (opts.externalUrl) file.externalUrl = opts.externalUrl;
    files.receive(file.uploadId, opts.data);
    files.complete(actor, [{ id: file.id, title: opts.title }], {
      channels: [conv],
      threadTs: opts.threadTs,
      initialComment: opts.comment,
    });
    const ts = file.shares.get(conv.id)!.at(-1)!;
    return { file, message: conv.byTs.get(ts)! };
  }

  updateProfile(changes: ProfileChanges): User {
    return this.services.users.updateProfile(this.id, changes);
  }
}
