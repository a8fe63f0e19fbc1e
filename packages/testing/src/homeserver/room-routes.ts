// Room endpoints: createRoom, membership, sending (with transaction-ID
// idempotency), state, redaction, reads, typing/receipts and the room directory.
import { Ctx, Requester, RouteDef, clientRoute } from './context';
import type { Core } from './core';
import { MatrixError, badJson, forbidden, invalidParam, missingParam, notFound } from './errors';
import { isInterestedInRoom } from './interest';
import { DEFAULT_ROOM_VERSION, EventRecord, Room, SUPPORTED_ROOM_VERSIONS, formatEvent } from './rooms';
import { describe, fieldsOf, isObject, splitId } from './util';

const PRESETS: Record<string, { join_rule: string; history_visibility: string; guest_can_join: boolean; invitees_ops: boolean }> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_can_join: true, invitees_ops: false },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_can_join: true, invitees_ops: true },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_can_join: false, invitees_ops: false },
};

/** A list of well-formed user IDs (createRoom's `invite`). */
function isUserIdList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((u) => typeof u === 'string' && splitId(u, '@') !== undefined);
}

export function roomRoutes(hs: Core): RouteDef[] {
  const notInRoom = (userId: string, roomId: string) => forbidden(`User ${userId} not in room ${roomId}`);

  /** The room, or the 403 Synapse gives when the user has no business there (unknown rooms included). */
  const roomFor = (roomId: string, userId: string): Room => {
    const room = hs.rooms.get(roomId);
    if (!room) throw notInRoom(userId, roomId);
    return room;
  };

  /** State a user may read: current if joined (or world-readable), frozen at leave time otherwise. */
  const visibleState = (room: Room, userId: string): EventRecord[] => {
    if (room.joined.has(userId) || room.historyVisibility === 'world_readable') return room.currentState();
    const left = room.leftState.get(userId);
    if (left) return left;
    throw forbidden(`User ${userId} not in room ${room.roomId}, and room previews are disabled`);
  };

  /** Scope of a transaction ID: same AS+user / device / token and same path (sans client prefix). */
  const txnScope = (ctx: Ctx): string => {
    const r = ctx.requester;
    const who = r.appservice ? `as:${r.appservice.id}:${r.userId}` : r.deviceId ? `dev:${r.userId}:${r.deviceId}` : `tok:${r.accessToken}`;
    return who + '|' + ctx.path.replace(/^\/_matrix\/client\/[^/]+/, '');
  };

  /** `?ts=` is honoured for appservices only. */
  const massagedTs = (ctx: Ctx): number | undefined => {
    if (!ctx.requester.appservice) return undefined;
    const ts = ctx.query.get('ts');
    if (ts === null) return undefined;
    if (!/^\d+$/.test(ts)) throw invalidParam('Query parameter "ts" must be an integer');
    return parseInt(ts, 10);
  };

  const checkAliasCreate = (r: Requester, alias: string) => {
    const parts = splitId(alias, '#');
    if (!parts) throw invalidParam('Invalid room alias');
    if (parts.server !== hs.serverName) throw invalidParam('Room alias must be local');
    if (r.appservice) {
      if (!r.appservice.isAliasInNamespace(alias)) {
        throw new MatrixError(400, 'M_EXCLUSIVE', 'This application service has not reserved this kind of alias.');
      }
    } else if (hs.appservices.exclusiveAliasOwners(alias).length) {
      throw new MatrixError(400, 'M_EXCLUSIVE', 'This alias is reserved by an application service.');
    }
  };

  const memberContent = (userId: string, membership: string, extra: Record<string, unknown> = {}) => {
    const content: Record<string, unknown> = { membership, ...extra };
    if (membership === 'join') {
      const acct = hs.users.get(userId);
      if (acct?.displayname !== undefined) content.displayname = acct.displayname;
      if (acct?.avatar_url !== undefined) content.avatar_url = acct.avatar_url;
    }
    return content;
  };

  const targetUser = (body: Record<string, unknown>): string => {
    const userId = body.user_id;
    if (userId === undefined) throw missingParam('Missing user_id');
    if (typeof userId !== 'string' || !splitId(userId, '@')) throw invalidParam('Invalid user_id');
    return userId;
  };

  const reasonOf = (body: Record<string, unknown>) => (typeof body.reason === 'string' ? { reason: body.reason } : {});

  const ensureInvitee = async (userId: string) => {
    if (hs.users.isLocal(userId) && !(await hs.queries.userExists(userId))) throw notFound(`Unknown user ${userId}`);
  };

  // ---- createRoom -------------------------------------------------------------

  const createRoom = async (ctx: Ctx) => {
    const r = ctx.requester;
    const b = ctx.body;
    const version = b.room_version === undefined ? DEFAULT_ROOM_VERSION : b.room_version;
    if (typeof version !== 'string' || !SUPPORTED_ROOM_VERSIONS.includes(version)) {
      throw new MatrixError(
        400,
        'M_UNSUPPORTED_ROOM_VERSION',
        'Your homeserver does not support the features required to interact with this room',
      );
    }
    if (b.visibility !== undefined && b.visibility !== 'public' && b.visibility !== 'private')
      throw invalidParam("'visibility' must be 'public' or 'private'");
    const presetName = b.preset ?? (b.visibility === 'public' ? 'public_chat' : 'private_chat');
    const preset = typeof presetName === 'string' ? PRESETS[presetName] : undefined;
    if (!preset) throw invalidParam(`Unknown preset ${describe(presetName)}`);
    if (b.name !== undefined && typeof b.name !== 'string') throw invalidParam('name must be a string');
    if (b.topic !== undefined && typeof b.topic !== 'string') throw invalidParam('topic must be a string');
    const creationContent = b.creation_content;
    if (creationContent !== undefined && !isObject(creationContent)) throw invalidParam('creation_content must be an object');
    const plOverride = b.power_level_content_override;
    if (plOverride !== undefined && !isObject(plOverride)) throw invalidParam('power_level_content_override must be an object');
    const invites = b.invite ?? [];
    if (!isUserIdList(invites)) throw invalidParam('Invalid user_id in invite list');
    const initialState: { type: string; state_key: string; content: Record<string, unknown> }[] = [];
    if (b.initial_state !== undefined) {
      if (!Array.isArray(b.initial_state)) throw invalidParam('initial_state must be a list');
      const listed: unknown[] = b.initial_state;
      for (const s of listed) {
        if (
          !isObject(s) ||
          typeof s.type !== 'string' ||
          !isObject(s.content) ||
          (s.state_key !== undefined && typeof s.state_key !== 'string')
        ) {
          throw new MatrixError(400, 'M_INVALID_ROOM_STATE', 'Invalid initial_state event');
        }
        initialState.push({ type: s.type, state_key: s.state_key ?? '', content: s.content });
      }
    }
    let alias: string | undefined;
    const aliasName = b.room_alias_name;
    if (aliasName !== undefined) {
      if (typeof aliasName !== 'string' || !aliasName || /[:\s]/.test(aliasName)) throw invalidParam('Invalid characters in room alias');
      alias = `#${aliasName}:${hs.serverName}`;
      checkAliasCreate(r, alias);
      if (hs.rooms.resolveAlias(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
    }
    for (const u of invites) await ensureInvitee(u);
    if (alias && hs.rooms.resolveAlias(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');

    const creator = r.userId;
    const room = hs.rooms.newRoom(creator, version);
    const send = (type: string, content: Record<string, unknown>, state_key?: string) =>
      hs.rooms.send(room, { sender: creator, type, content, state_key });
    const fromInitial = (type: string, key = '') => {
      const i = initialState.findIndex((s) => s.type === type && s.state_key === key);
      return i >= 0 ? initialState.splice(i, 1)[0] : undefined;
    };

    const createContent: Record<string, unknown> = { ...(creationContent ?? {}), room_version: version };
    if (parseInt(version, 10) < 11) createContent.creator = creator;
    send('m.room.create', createContent, '');
    send('m.room.member', memberContent(creator, 'join'), creator);

    const plUsers: Record<string, number> = { [creator]: 100 };
    if (preset.invitees_ops) for (const u of invites) plUsers[u] = 100;
    let pl: Record<string, unknown> = fromInitial('m.room.power_levels')?.content ?? {
      users: plUsers,
      users_default: 0,
      events: {
        'm.room.name': 50,
        'm.room.power_levels': 100,
        'm.room.history_visibility': 100,
        'm.room.canonical_alias': 50,
        'm.room.avatar': 50,
        'm.room.tombstone': 100,
        'm.room.server_acl': 100,
        'm.room.encryption': 100,
      },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 50,
      historical: 100,
    };
    if (plOverride) pl = { ...pl, ...plOverride };
    // Like Synapse: if the final power levels would leave the creator unable to send
    // the rest of the initial state, start with the creator at 100 and send the
    // requested power levels last.
    const creatorLevel = fieldsOf(pl.users)[creator];
    const deferPl = typeof creatorLevel === 'number' && creatorLevel < 100;
    send('m.room.power_levels', deferPl ? { ...pl, users: { ...fieldsOf(pl.users), [creator]: 100 } } : pl, '');
    if (alias) {
      hs.rooms.addAlias(alias, room.roomId, creator);
      send('m.room.canonical_alias', { alias }, '');
    }
    send('m.room.join_rules', fromInitial('m.room.join_rules')?.content ?? { join_rule: preset.join_rule }, '');
    send(
      'm.room.history_visibility',
      fromInitial('m.room.history_visibility')?.content ?? { history_visibility: preset.history_visibility },
      '',
    );
    const guest = fromInitial('m.room.guest_access');
    if (guest) send('m.room.guest_access', guest.content, '');
    else if (preset.guest_can_join) send('m.room.guest_access', { guest_access: 'can_join' }, '');
    for (const s of initialState) send(s.type, s.content, s.state_key);
    if (b.name !== undefined) send('m.room.name', { name: b.name }, '');
    if (b.topic !== undefined) send('m.room.topic', { topic: b.topic }, '');
    if (deferPl) send('m.room.power_levels', pl, '');
    for (const u of invites) send('m.room.member', { membership: 'invite', ...(b.is_direct ? { is_direct: true } : {}) }, u);
    if (b.visibility === 'public') hs.rooms.published.set(room.roomId, {});
    return { room_id: room.roomId };
  };

  // ---- membership -------------------------------------------------------------

  const join = async (ctx: Ctx, idOrAlias: string) => {
    const userId = ctx.userId;
    let roomId = idOrAlias;
    if (idOrAlias.startsWith('#')) {
      if (!splitId(idOrAlias, '#')) throw invalidParam('Invalid room alias');
      const resolved = await hs.queries.resolveAlias(idOrAlias);
      if (!resolved) throw notFound(`Room alias ${idOrAlias} not found`);
      roomId = resolved;
    } else if (!splitId(idOrAlias, '!')) {
      throw invalidParam(`${idOrAlias} was not legal room ID or room alias`);
    }
    const room = hs.rooms.get(roomId);
    if (!room) throw notFound('No known servers');
    if (room.membership(userId) === 'join') return { room_id: roomId };
    hs.rooms.send(room, {
      sender: userId,
      type: 'm.room.member',
      state_key: userId,
      content: memberContent(userId, 'join', reasonOf(ctx.body)),
    });
    return { room_id: roomId };
  };

  const membershipAction = (action: 'invite' | 'kick' | 'ban' | 'unban') => async (ctx: Ctx) => {
    const sender = ctx.userId;
    const room = roomFor(ctx.params.roomId, sender);
    const target = targetUser(ctx.body);
    const cur = room.membership(target);
    const extra = reasonOf(ctx.body);
    switch (action) {
      case 'invite':
        await ensureInvitee(target);
        if (cur === 'invite' && room.membership(sender) === 'join') return {};
        hs.rooms.send(room, { sender, type: 'm.room.member', state_key: target, content: { membership: 'invite', ...extra } });
        return {};
      case 'kick':
        if (cur !== 'join' && cur !== 'invite' && cur !== 'knock') throw forbidden('The target user is not in the room');
        hs.rooms.send(room, { sender, type: 'm.room.member', state_key: target, content: { membership: 'leave', ...extra } });
        return {};
      case 'ban':
        if (cur === 'ban' && room.membership(sender) === 'join') return {};
        hs.rooms.send(room, { sender, type: 'm.room.member', state_key: target, content: { membership: 'ban', ...extra } });
        return {};
      case 'unban':
        if (cur !== 'ban') return {};
        hs.rooms.send(room, { sender, type: 'm.room.member', state_key: target, content: { membership: 'leave', ...extra } });
        return {};
    }
  };

  // ---- sending ----------------------------------------------------------------

  // Synapse rejects events over 64 KiB; the request body is a close proxy for the event size.
  const checkEventSize = (ctx: Ctx) => {
    if (ctx.bodyLength > 65000) throw new MatrixError(413, 'M_TOO_LARGE', 'Event too large');
  };

  const sendMessage = (ctx: Ctx) => {
    const scope = txnScope(ctx);
    const cached = hs.txns.get(scope);
    if (cached) return cached;
    checkEventSize(ctx);
    const room = roomFor(ctx.params.roomId, ctx.userId);
    const rec = hs.rooms.send(room, { sender: ctx.userId, type: ctx.params.eventType, content: ctx.body, ts: massagedTs(ctx) });
    const res = { event_id: rec.ev.event_id };
    hs.txns.set(scope, res);
    return res;
  };

  const redact = (ctx: Ctx) => {
    const scope = txnScope(ctx);
    const cached = hs.txns.get(scope);
    if (cached) return cached;
    const room = roomFor(ctx.params.roomId, ctx.userId);
    const content: Record<string, unknown> = { ...reasonOf(ctx.body) };
    if (parseInt(room.version, 10) >= 11) content.redacts = ctx.params.eventId;
    const rec = hs.rooms.send(room, {
      sender: ctx.userId,
      type: 'm.room.redaction',
      content,
      redacts: ctx.params.eventId,
      ts: massagedTs(ctx),
    });
    const res = { event_id: rec.ev.event_id };
    hs.txns.set(scope, res);
    return res;
  };

  const putState = (ctx: Ctx) => {
    checkEventSize(ctx);
    const sender = ctx.userId;
    const room = roomFor(ctx.params.roomId, sender);
    const type = ctx.params.eventType;
    const stateKey = ctx.params.stateKey ?? '';
    const content = ctx.body;
    if (type === 'm.room.canonical_alias') {
      const alt: unknown[] = Array.isArray(content.alt_aliases) ? content.alt_aliases : [];
      for (const a of [content.alias, ...alt]) {
        if (a === undefined) continue;
        if (typeof a !== 'string' || hs.rooms.resolveAlias(a) !== room.roomId) {
          throw new MatrixError(400, 'M_BAD_ALIAS', `Room alias ${describe(a)} does not point to the room`);
        }
      }
    }
    // Synapse de-duplicates a state event identical to the current one from the same sender.
    const prev = room.getState(type, stateKey);
    if (prev && prev.ev.sender === sender && JSON.stringify(prev.ev.content) === JSON.stringify(content)) {
      return { event_id: prev.ev.event_id };
    }
    const rec = hs.rooms.send(room, { sender, type, content, state_key: stateKey, ts: massagedTs(ctx) });
    return { event_id: rec.ev.event_id };
  };

  const getStateEvent = (ctx: Ctx) => {
    const userId = ctx.userId;
    const room = roomFor(ctx.params.roomId, userId);
    const type = ctx.params.eventType;
    const key = ctx.params.stateKey ?? '';
    const hit =
      room.joined.has(userId) || room.historyVisibility === 'world_readable'
        ? room.getState(type, key)
        : visibleState(room, userId).find((e) => e.ev.type === type && e.ev.state_key === key);
    if (!hit) throw notFound('Event not found.');
    if (ctx.query.get('format') === 'event') return formatEvent(hit);
    return hit.ev.content;
  };

  const canSeeMembers = (room: Room, r: Requester): boolean => {
    if (room.joined.has(r.userId)) return true;
    // Synapse lets an appservice read joined members when any of its users is joined.
    return !!r.appservice && isInterestedInRoom(r.appservice, room) && [...room.joined].some((u) => r.appservice!.isInterestedInUser(u));
  };

  // ---- directory ----------------------------------------------------------------

  const aliasParam = (ctx: Ctx) => {
    const alias = ctx.params.roomAlias;
    if (!splitId(alias, '#')) throw invalidParam('Invalid room alias');
    return alias;
  };

  /** `networkId` as the client gave it: a malformed (non-string) one matches no list. */
  const publicRoomsChunk = (search?: string, networkId?: unknown) => {
    const chunk: Record<string, unknown>[] = [];
    for (const [roomId, pub] of hs.rooms.published) {
      if ((networkId ?? undefined) !== (pub.networkId ?? undefined)) continue;
      const room = hs.rooms.get(roomId);
      if (!room) continue;
      const entry: Record<string, unknown> = {
        room_id: roomId,
        num_joined_members: room.joined.size,
        world_readable: room.historyVisibility === 'world_readable',
        guest_can_join: room.getState('m.room.guest_access')?.ev.content.guest_access === 'can_join',
        join_rule: room.getState('m.room.join_rules')?.ev.content.join_rule ?? 'invite',
      };
      const name = room.getState('m.room.name')?.ev.content.name;
      const topic = room.getState('m.room.topic')?.ev.content.topic;
      const alias = room.getState('m.room.canonical_alias')?.ev.content.alias;
      if (name) entry.name = name;
      if (topic) entry.topic = topic;
      if (alias) entry.canonical_alias = alias;
      if (search && ![name, topic, alias].some((s) => typeof s === 'string' && s.toLowerCase().includes(search.toLowerCase()))) continue;
      chunk.push(entry);
    }
    return { chunk, total_room_count_estimate: chunk.length };
  };

  return [
    clientRoute('POST', '/createRoom', { bodyRequired: true, rateLimited: true }, createRoom),
    clientRoute('POST', '/join/{roomIdOrAlias}', { rateLimited: true }, (ctx) => join(ctx, ctx.params.roomIdOrAlias)),
    clientRoute('POST', '/rooms/{roomId}/join', { rateLimited: true }, (ctx) => join(ctx, ctx.params.roomId)),
    clientRoute('POST', '/rooms/{roomId}/invite', { bodyRequired: true, rateLimited: true }, membershipAction('invite')),
    clientRoute('POST', '/rooms/{roomId}/kick', { bodyRequired: true, rateLimited: true }, membershipAction('kick')),
    clientRoute('POST', '/rooms/{roomId}/ban', { bodyRequired: true, rateLimited: true }, membershipAction('ban')),
    clientRoute('POST', '/rooms/{roomId}/unban', { bodyRequired: true, rateLimited: true }, membershipAction('unban')),
    clientRoute('POST', '/rooms/{roomId}/leave', { rateLimited: true }, (ctx) => {
      const userId = ctx.userId;
      const room = hs.rooms.get(ctx.params.roomId);
      if (!room) throw notFound('Not a known room');
      const cur = room.membership(userId);
      if (cur === 'leave') return {};
      hs.rooms.send(room, {
        sender: userId,
        type: 'm.room.member',
        state_key: userId,
        content: { membership: 'leave', ...reasonOf(ctx.body) },
      });
      return {};
    }),
    clientRoute('POST', '/rooms/{roomId}/forget', {}, (ctx) => {
      const room = hs.rooms.get(ctx.params.roomId);
      if (room?.joined.has(ctx.userId)) throw new MatrixError(400, 'M_UNKNOWN', 'User is in room');
      room?.leftState.delete(ctx.userId);
      return {};
    }),
    clientRoute('PUT', '/rooms/{roomId}/send/{eventType}/{txnId}', { bodyRequired: true, rateLimited: true }, sendMessage),
    clientRoute('PUT', '/rooms/{roomId}/redact/{eventId}/{txnId}', { rateLimited: true }, redact),
    clientRoute(
      'PUT',
      ['/rooms/{roomId}/state/{eventType}/{stateKey}', '/rooms/{roomId}/state/{eventType}'],
      { bodyRequired: true, rateLimited: true },
      putState,
    ),
    clientRoute('GET', ['/rooms/{roomId}/state/{eventType}/{stateKey}', '/rooms/{roomId}/state/{eventType}'], {}, getStateEvent),
    clientRoute('GET', '/rooms/{roomId}/state', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      const now = Date.now();
      return visibleState(room, ctx.userId).map((r) => formatEvent(r, now));
    }),
    clientRoute('GET', '/rooms/{roomId}/event/{eventId}', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      visibleState(room, ctx.userId);
      const hit = hs.rooms.event(ctx.params.eventId);
      if (!hit || hit.room !== room) throw notFound('Event not found.');
      return formatEvent(hit.rec);
    }),
    clientRoute('GET', '/rooms/{roomId}/messages', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      visibleState(room, ctx.userId);
      const dir = ctx.query.get('dir') ?? 'b';
      if (dir !== 'b' && dir !== 'f') throw invalidParam("dir must be 'b' or 'f'");
      const limit = Math.min(Math.max(parseInt(ctx.query.get('limit') ?? '10', 10) || 10, 1), 1000);
      const from = ctx.query.get('from');
      const tl = room.timeline;
      let pos = from && /^t\d+$/.test(from) ? parseInt(from.slice(1), 10) : dir === 'b' ? tl.length : 0;
      pos = Math.max(0, Math.min(pos, tl.length));
      const now = Date.now();
      if (dir === 'b') {
        const start = Math.max(0, pos - limit);
        const chunk = tl
          .slice(start, pos)
          .reverse()
          .map((r) => formatEvent(r, now));
        return start > 0 ? { chunk, start: `t${pos}`, end: `t${start}` } : { chunk, start: `t${pos}` };
      }
      const end = Math.min(tl.length, pos + limit);
      return { chunk: tl.slice(pos, end).map((r) => formatEvent(r, now)), start: `t${pos}`, end: `t${end}` };
    }),
    clientRoute('GET', '/joined_rooms', {}, (ctx) => ({ joined_rooms: hs.rooms.joinedRooms(ctx.userId) })),
    clientRoute('GET', '/rooms/{roomId}/joined_members', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      if (!canSeeMembers(room, ctx.requester)) throw notInRoom(ctx.userId, room.roomId);
      // Passed on as the member events have them.
      const joined: Record<string, { display_name?: unknown; avatar_url?: unknown }> = {};
      for (const u of room.joined) {
        const c = room.members.get(u)!.ev.content;
        joined[u] = { display_name: c.displayname, avatar_url: c.avatar_url };
      }
      return { joined };
    }),
    clientRoute('GET', '/rooms/{roomId}/members', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      const state = visibleState(room, ctx.userId);
      const want = ctx.query.get('membership');
      const notWant = ctx.query.get('not_membership');
      const now = Date.now();
      const chunk = state
        .filter((r) => r.ev.type === 'm.room.member')
        .filter((r) => (!want || r.ev.content.membership === want) && (!notWant || r.ev.content.membership !== notWant))
        .map((r) => formatEvent(r, now));
      return { chunk };
    }),
    clientRoute('GET', '/rooms/{roomId}/aliases', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      visibleState(room, ctx.userId);
      return { aliases: Array.from(room.aliases) };
    }),
    clientRoute('PUT', '/rooms/{roomId}/typing/{userId}', { bodyRequired: true }, (ctx) => {
      if (ctx.params.userId !== ctx.userId) throw forbidden("Cannot set another user's typing state");
      const room = roomFor(ctx.params.roomId, ctx.userId);
      if (!room.joined.has(ctx.userId)) throw notInRoom(ctx.userId, room.roomId);
      const { typing, timeout } = ctx.body;
      if (typeof typing !== 'boolean') throw badJson('Missing or invalid typing');
      hs.ephemeral.setTyping(room, ctx.userId, typing, typeof timeout === 'number' ? timeout : 30000);
      return {};
    }),
    clientRoute('POST', '/rooms/{roomId}/receipt/{receiptType}/{eventId}', {}, (ctx) => {
      const type = ctx.params.receiptType;
      if (!['m.read', 'm.read.private', 'm.fully_read'].includes(type))
        throw invalidParam(`Receipt type must be 'm.read', 'm.read.private' or 'm.fully_read'`);
      const room = roomFor(ctx.params.roomId, ctx.userId);
      if (!room.joined.has(ctx.userId)) throw notInRoom(ctx.userId, room.roomId);
      if (type === 'm.fully_read') return {};
      const thread = ctx.body.thread_id;
      hs.ephemeral.receipt(room, ctx.userId, type, ctx.params.eventId, typeof thread === 'string' ? thread : undefined);
      return {};
    }),
    clientRoute('POST', '/rooms/{roomId}/read_markers', {}, (ctx) => {
      const room = roomFor(ctx.params.roomId, ctx.userId);
      if (!room.joined.has(ctx.userId)) throw notInRoom(ctx.userId, room.roomId);
      for (const t of ['m.read', 'm.read.private']) {
        const eventId = ctx.body[t];
        if (typeof eventId === 'string') hs.ephemeral.receipt(room, ctx.userId, t, eventId);
      }
      return {};
    }),
    // Directory
    clientRoute('PUT', '/directory/room/{roomAlias}', { bodyRequired: true }, (ctx) => {
      const alias = aliasParam(ctx);
      const r = ctx.requester;
      checkAliasCreate(r, alias);
      const roomId = ctx.body.room_id;
      if (typeof roomId !== 'string') throw missingParam('Missing room_id');
      const room = hs.rooms.get(roomId);
      if (!room) throw notFound('Room not found');
      if (!r.appservice && !room.joined.has(r.userId)) throw forbidden('You must be in the room to create an alias for it');
      hs.rooms.addAlias(alias, roomId, r.userId);
      return {};
    }),
    clientRoute('GET', '/directory/room/{roomAlias}', { auth: 'optional' }, async (ctx) => {
      const alias = aliasParam(ctx);
      const roomId = await hs.queries.resolveAlias(alias);
      if (!roomId) throw notFound(`Room alias ${alias} not found`);
      return { room_id: roomId, servers: [hs.serverName] };
    }),
    clientRoute('DELETE', '/directory/room/{roomAlias}', {}, (ctx) => {
      const alias = aliasParam(ctx);
      const entry = hs.rooms.aliases.get(alias);
      if (!entry) throw notFound(`Room alias ${alias} not found`);
      const r = ctx.requester;
      const room = hs.rooms.get(entry.roomId);
      const allowed =
        entry.creator === r.userId ||
        (r.appservice?.isAliasInNamespace(alias) ?? false) ||
        (!!room && room.joined.has(r.userId) && room.userLevel(r.userId) >= room.eventLevel('m.room.canonical_alias', true));
      if (!allowed) throw forbidden("You don't have permission to delete the alias.");
      hs.rooms.removeAlias(alias);
      return {};
    }),
    clientRoute('GET', '/directory/list/room/{roomId}', { auth: 'none' }, (ctx) => {
      if (!hs.rooms.get(ctx.params.roomId)) throw notFound('Unknown room');
      return { visibility: hs.rooms.published.has(ctx.params.roomId) ? 'public' : 'private' };
    }),
    clientRoute('PUT', '/directory/list/room/{roomId}', {}, (ctx) => {
      const room = hs.rooms.get(ctx.params.roomId);
      if (!room) throw notFound('Unknown room');
      if (!room.joined.has(ctx.userId) || room.userLevel(ctx.userId) < room.eventLevel('m.room.canonical_alias', true)) {
        throw forbidden('This user is not permitted to publish rooms to the room list');
      }
      const vis = ctx.body.visibility ?? 'public';
      if (vis === 'public') hs.rooms.published.set(room.roomId, {});
      else if (vis === 'private') hs.rooms.published.delete(room.roomId);
      else throw invalidParam('Invalid visibility');
      return {};
    }),
    clientRoute('PUT', '/directory/list/appservice/{networkId}/{roomId}', { bodyRequired: true }, (ctx) => {
      const as = ctx.requester.appservice;
      if (!as) throw forbidden('Only appservices can edit the appservice published room list');
      if (!hs.rooms.get(ctx.params.roomId)) throw notFound('Unknown room');
      const vis = ctx.body.visibility;
      if (vis === 'public') hs.rooms.published.set(ctx.params.roomId, { networkId: ctx.params.networkId, appserviceId: as.id });
      else if (vis === 'private') hs.rooms.published.delete(ctx.params.roomId);
      else throw invalidParam("visibility must be 'public' or 'private'");
      return {};
    }),
    clientRoute('GET', '/publicRooms', { auth: 'optional' }, (ctx) =>
      publicRoomsChunk(undefined, ctx.query.get('third_party_instance_id') ?? undefined),
    ),
    clientRoute('POST', '/publicRooms', {}, (ctx) => {
      const { filter, third_party_instance_id: instance } = ctx.body;
      const search = isObject(filter) ? filter.generic_search_term : undefined;
      const term = typeof search === 'string' ? search : undefined;
      let network: unknown;
      if (typeof instance === 'string') {
        // An instance ID is JSON naming the network; one that is not (or is JSON null) is the network itself.
        let parsed: unknown;
        try {
          parsed = JSON.parse(instance);
        } catch {
          parsed = null;
        }
        network = parsed === null ? instance : fieldsOf(parsed).network_id;
      }
      return publicRoomsChunk(term, network);
    }),
  ];
}
