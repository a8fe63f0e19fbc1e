// Changes to people: a profile edit (name, display name, avatar, status) produces `user_change`
// with the whole user object, as does a deactivation (`deleted: true`); a new member produces
// `team_join`. All are workspace-wide.
import type { EventDispatcher } from './dispatcher';
import type { User } from './model';
import type { SlackState, UserOptions } from './state';
import { userJson } from './wire';

export interface ProfileChanges {
  displayName?: string;
  realName?: string;
  title?: string;
  statusText?: string;
  statusEmoji?: string;
  email?: string;
  avatarUrl?: string;
  avatar?: { data: Buffer; contentType: string };
}

export class UserActions {
  constructor(
    private state: SlackState,
    private events: EventDispatcher,
  ) {}

  join(teamId: string, opts: UserOptions): User {
    const user = this.state.createUser(teamId, opts);
    this.events.emit(teamId, { type: 'team_join', user: userJson(this.state, user), event_ts: this.state.clock.next('events') });
    return user;
  }

  /** An admin deactivates the account: `user_change` with `deleted: true`. */
  deactivate(userId: string): User {
    const user = this.state.user(userId);
    user.deleted = true;
    user.updated = this.state.now();
    this.events.emit(user.teamId, {
      type: 'user_change',
      user: userJson(this.state, user),
      cache_ts: Math.floor(Date.now() / 1000),
      event_ts: this.state.clock.next('events'),
    });
    return user;
  }

  updateProfile(userId: string, changes: ProfileChanges): User {
    const user = this.state.user(userId);
    const p = user.profile;
    if (changes.displayName !== undefined) p.displayName = changes.displayName;
    if (changes.realName !== undefined) {
      p.realName = changes.realName;
      [p.firstName, p.lastName] = [changes.realName.split(' ')[0], changes.realName.split(' ').slice(1).join(' ')];
    }
    if (changes.title !== undefined) p.title = changes.title;
    if (changes.statusText !== undefined) p.statusText = changes.statusText;
    if (changes.statusEmoji !== undefined) p.statusEmoji = changes.statusEmoji;
    if (changes.email !== undefined) p.email = changes.email;
    if (changes.avatar) {
      const stored = this.state.storeAvatar(changes.avatar.data, changes.avatar.contentType);
      p.image = stored.url;
      p.avatarHash = stored.hash;
      p.isCustomImage = true;
    } else if (changes.avatarUrl !== undefined) {
      p.image = changes.avatarUrl;
      p.avatarHash = Buffer.from(changes.avatarUrl).toString('base64url').slice(-12);
      p.isCustomImage = true;
    }
    user.updated = this.state.now();
    const eventTs = this.state.clock.next('events');
    this.events.emit(user.teamId, {
      type: 'user_change',
      user: userJson(this.state, user),
      cache_ts: Math.floor(Date.now() / 1000),
      event_ts: eventTs,
    });
    return user;
  }
}
