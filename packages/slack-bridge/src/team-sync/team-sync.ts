// Team sync for one workspace (`team_sync.enabled`): every public channel the app is in gets a
// portal room (kind `portal`, created by the bot with the channel's name and topic). At start the
// channels are listed (`conversations.list`) and portals made or brought up to date (a rename or
// topic change missed while the bridge was down is applied); afterwards the app joining a channel
// (`member_joined_channel` for the bot user) makes its portal, and with `join_public_channels` a
// new channel (`channel_created`) is joined first. Renames and topic changes of linked channels
// are already followed by the relay (to-matrix/slack-events). Archiving a channel makes its
// portal read-only (only users above the default power level may talk) with a notice; unarchiving
// lifts that.
import type { Portal } from '@causeway/bridge-core';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { slackErrorCode } from '../puppets/puppets';
import { slackChannelName } from '../slack';
import { slackTopicToMatrix } from '../to-matrix/text';

interface ChannelInfo {
  id?: string;
  name?: string;
  is_channel?: boolean;
  is_private?: boolean;
  is_archived?: boolean;
  is_member?: boolean;
  topic?: { value?: string };
  purpose?: { value?: string };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The Matrix topic of a channel: its topic, else its description (purpose), as the relay maps both. */
function topicOf(c: ChannelInfo): string {
  return c.topic?.value || c.purpose?.value || '';
}

export class TeamSync {
  constructor(private readonly ws: WorkspaceContext) {}

  get enabled(): boolean {
    return this.ws.cfg.team_sync?.enabled === true;
  }

  /** The first sync; failures are logged, never stop the bridge. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    try {
      let n = 0;
      for (const c of await this.publicChannels()) {
        const id = c.id;
        if (c.is_archived || !id) continue;
        if (!c.is_member) {
          if (!this.ws.cfg.team_sync?.join_public_channels || !(await this.join(id))) continue;
        }
        await this.ensure({ ...c, id });
        n++;
      }
      this.ws.ctx.log.info('Slack team sync done', { workspace: this.ws.name, channels: n });
    } catch (err) {
      this.ws.ctx.log.warn('Slack team sync failed; it runs again at the next start', { workspace: this.ws.name, err: String(err) });
    }
  }

  /** Handles the events team sync follows, in a raw Events API payload. */
  async onPayload(body: unknown): Promise<void> {
    if (!this.enabled) return;
    const ev = (body as { event?: Record<string, unknown> } | undefined)?.event;
    if (!ev || typeof ev !== 'object') return;
    switch (ev.type) {
      case 'member_joined_channel': {
        const channel = str(ev.channel);
        if (channel && ev.user === this.ws.identity.botUserId && ev.channel_type === 'C') await this.ensureById(channel);
        return;
      }
      case 'channel_created': {
        const channel = str((ev.channel as { id?: unknown } | undefined)?.id);
        if (channel && this.ws.cfg.team_sync?.join_public_channels && (await this.join(channel))) await this.ensureById(channel);
        return;
      }
      case 'channel_archive':
      case 'channel_unarchive': {
        const channel = str(ev.channel);
        if (channel) await this.archived(channel, ev.type === 'channel_archive');
        return;
      }
    }
  }

  private async publicChannels(): Promise<ChannelInfo[]> {
    const out: ChannelInfo[] = [];
    let cursor: string | undefined;
    do {
      const r = await this.ws.client.conversations.list({
        types: 'public_channel',
        exclude_archived: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      out.push(...((r.channels ?? []) as ChannelInfo[]));
      cursor = r.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return out;
  }

  private async join(channel: string): Promise<boolean> {
    try {
      await this.ws.client.conversations.join({ channel });
      return true;
    } catch (err) {
      this.ws.ctx.log.warn('team sync could not join a Slack channel', { channel, err: slackErrorCode(err) ?? String(err) });
      return false;
    }
  }

  private async ensureById(channel: string): Promise<void> {
    try {
      const c = (await this.ws.client.conversations.info({ channel })).channel;
      if (c && !c.is_private && !c.is_archived) await this.ensure({ ...c, id: channel });
    } catch (err) {
      this.ws.ctx.log.warn('team sync could not read a Slack channel', { channel, err: slackErrorCode(err) ?? String(err) });
    }
  }

  private async rooms(channel: string): Promise<Portal[]> {
    return (await this.ws.ctx.portals.getByKey(this.ws.portalKey(channel))).filter((p) => p.kind !== 'dm');
  }

  /** Makes the channel's portal, or brings an existing team-sync portal's name and topic up to date. */
  private async ensure(c: ChannelInfo & { id: string }): Promise<void> {
    const ws = this.ws;
    const key = ws.portalKey(c.id);
    const name = c.name ?? c.id;
    const topic = await slackTopicToMatrix(ws, topicOf(c));
    const existing = await this.rooms(c.id);
    if (!existing.length) {
      await ws.ctx.portals.ensurePortalRoom({
        key,
        name,
        ...(topic ? { topic } : {}),
        published: ws.cfg.team_sync?.published === true,
      });
      return;
    }
    for (const p of existing.filter((x) => x.kind === 'portal')) {
      const haveName = (await ws.ctx.portals.roomState(p.roomId, 'm.room.name'))?.name;
      const haveTopic = (await ws.ctx.portals.roomState(p.roomId, 'm.room.topic'))?.topic ?? '';
      // With rename_channels a Matrix name renamed the channel to its Slack form: that is in step.
      const sameName = haveName === name || (ws.cfg.rename_channels && typeof haveName === 'string' && slackChannelName(haveName) === name);
      if (sameName && haveTopic === topic) continue;
      await ws.ctx.remote.emit({
        type: 'meta',
        portal: key,
        sender: { bot: true },
        ...(!sameName ? { name } : {}),
        ...(haveTopic !== topic ? { topic } : {}),
      });
    }
  }

  private async archived(channel: string, archived: boolean): Promise<void> {
    const rooms = await this.rooms(channel);
    if (!rooms.length) return;
    await this.ws.ctx.remote.emit({ type: 'settings', portal: this.ws.portalKey(channel), sender: { bot: true }, moderated: archived });
    const text = archived
      ? 'This Slack channel was archived: nothing more crosses until it is unarchived.'
      : 'This Slack channel was unarchived: messages cross again.';
    for (const p of rooms) await this.ws.ctx.notify.roomNotice(p.roomId, text).catch(() => undefined);
  }
}
