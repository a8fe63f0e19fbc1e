// Who hears an event. For each app installed in the workspace: the event's subscription name
// (`message.channels`, `reaction_added`, …) must be among the app's bot events with its bot able
// to see the conversation (a member), or among its user events with an authorizing user who can
// see it. Such an app gets an `event_callback` with its own event_id and one authorization,
// handed to Socket Mode or the Events API sender, and recorded in the delivery log.
import { randomUUID } from 'node:crypto';
import { DeliveryLog, type Delivery, type Json } from './deliveries';
import type { App, Conversation } from './model';
import { subscriptionFor } from './scopes';
import type { SlackState } from './state';

export interface EventScope {
  /** The conversation the event happened in: only those who can see it hear it. */
  conversation?: Conversation;
  /** Users who also count as seeing it (members before a leave or a kick). */
  alsoVisibleTo?: Iterable<string>;
}

export interface Transport {
  send(app: App, delivery: Delivery): void;
}

/** Public-channel events every member of the workspace can see, member of the channel or not. */
const WORKSPACE_WIDE = new Set(['channel_created', 'channel_rename', 'channel_archive', 'channel_unarchive', 'channel_deleted']);

export class EventDispatcher {
  constructor(
    private state: SlackState,
    private log: DeliveryLog,
    private transports: { socket: Transport; http: Transport },
  ) {}

  emit(teamId: string, event: Json, scope: EventScope = {}): Delivery[] {
    const conv = scope.conversation;
    const type = String(event.type);
    const sub = subscriptionFor(type, conv?.kind);
    const limited = conv !== undefined && !(conv.kind === 'channel' && WORKSPACE_WIDE.has(type));
    const audience = new Set<string>(conv ? conv.members : []);
    for (const u of scope.alsoVisibleTo ?? []) audience.add(u);
    const sees = (userId: string) => !limited || audience.has(userId);
    const out: Delivery[] = [];
    for (const inst of this.state.installationsIn(teamId)) {
      const app = this.state.apps.get(inst.appId);
      if (!app) continue;
      let authorization: Json | undefined;
      if (inst.bot && app.botEvents.has(sub) && sees(inst.bot.botUserId) && !this.state.tokens.get(inst.bot.token)?.revoked) {
        authorization = { enterprise_id: null, team_id: teamId, user_id: inst.bot.botUserId, is_bot: true, is_enterprise_install: false };
      } else if (app.userEvents.has(sub)) {
        const grant = [...inst.userGrants.values()].find((g) => sees(g.userId) && !this.state.tokens.get(g.token)?.revoked);
        if (grant)
          authorization = { enterprise_id: null, team_id: teamId, user_id: grant.userId, is_bot: false, is_enterprise_install: false };
      }
      if (!authorization) continue;
      const eventId = this.state.ids.next('Ev');
      const copy = structuredClone(event);
      const payload: Json = {
        token: app.verificationToken,
        team_id: teamId,
        context_team_id: teamId,
        context_enterprise_id: null,
        api_app_id: app.id,
        event: copy,
        type: 'event_callback',
        event_id: eventId,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [authorization],
        is_ext_shared_channel: false,
        event_context: `4-${Buffer.from(randomUUID()).toString('base64url')}`,
      };
      const transport = app.socketMode ? 'socket' : app.requestUrl ? 'http' : 'none';
      const delivery: Delivery = { eventId, appId: app.id, teamId, event: copy, payload, transport, state: 'pending', attempts: [] };
      this.log.add(delivery);
      out.push(delivery);
      if (transport === 'none') this.log.settle(delivery, 'failed');
      else this.transports[transport].send(app, delivery);
    }
    return out;
  }
}
