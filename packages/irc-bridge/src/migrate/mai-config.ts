/**
 * matrix-appservice-irc (MAI) config → this bridge's config, for operators moving over
 * (`causeway-irc migrate-mai-config`). Every MAI key is either carried over to its counterpart
 * or named in a note saying why not, so nothing an operator relied on disappears silently.
 *
 * MAI keyed networks by server address and used `$SERVER` in its templates; the address
 * becomes the network key here (what `$NETWORK` stands for), and the user and alias templates
 * become the core's, so existing ghost IDs and portal aliases keep their names where MAI's
 * templates allow it.
 */
import { metricsConfigProblem } from '@causeway/bridge-core/tools';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined && o[k] !== null;

export interface ConvertedConfig {
  /** The new config, ready to be written as YAML and validated. */
  config: Obj;
  /** What was not carried over, or changed meaning, one line each, naming the MAI key. */
  notes: string[];
}

/** A template of MAI's (`@$SERVER_$NICK`, `#irc_$SERVER_$CHANNEL`) as a core localpart template. */
function template(mai: string, id: '$NICK' | '$CHANNEL'): string {
  return mai.replace(/^[@#]/, '').replace(/:.*$/, '').split(id).join('$ID').split('$SERVER').join('$NETWORK');
}

/** Sets `path` (dot-separated) in `target` when `value` is defined. */
function put(target: Obj, path: string, value: unknown): void {
  if (value === undefined) return;
  const keys = path.split('.');
  let cur = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys[keys.length - 1]] = value;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : undefined);
const secs = (ms: unknown): number | undefined => (num(ms) === undefined ? undefined : Math.max(0, Math.round((ms as number) / 1000)));

export function convertMaiConfig(input: unknown): ConvertedConfig {
  const mai = obj(input);
  const notes: string[] = [];
  const out: Obj = {};
  const note = (key: string, why: string) => notes.push(`${key}: ${why}`);

  // ---- homeserver ----
  const hs = obj(mai.homeserver);
  put(out, 'homeserver.url', str(hs.url));
  put(out, 'homeserver.domain', str(hs.domain));
  put(out, 'homeserver.media_url', str(hs.media_url));
  put(out, 'bridge.drop_matrix_messages_after_s', num(hs.dropMatrixMessagesAfterSecs));
  put(out, 'appservice.port', num(hs.bindPort));
  put(out, 'appservice.bind_host', str(hs.bindHostname));
  if (has(hs, 'enablePresence')) note('homeserver.enablePresence', 'not carried over: ghosts set no presence.');

  const svc = obj(mai.ircService);
  const servers = obj(svc.servers);
  const ghostTemplates = new Set<string>();
  const aliasTemplates = new Set<string>();
  const portalRooms = { federate: new Set<boolean>(), roomVersion: new Set<string>() };
  const dmFederate = new Set<boolean>();
  for (const [address, raw] of Object.entries(servers)) {
    const s = obj(raw);
    const key = address.toLowerCase();
    const at = `ircService.servers.${address}`;
    // Built apart and set whole: the key has dots, which put() would read as nesting.
    const srv: Obj = {};
    if (!isObj(out.irc)) out.irc = {};
    if (!isObj((out.irc as Obj).servers)) (out.irc as Obj).servers = {};
    ((out.irc as Obj).servers as Obj)[key] = srv;
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(key))
      note(at, `the network key "${key}" is not a valid network name here; rename it in irc.servers.`);
    put(srv, 'address', address);
    put(srv, 'name', str(s.name));
    put(srv, 'network_id', str(s.networkId)?.toLowerCase());
    put(srv, 'port', num(s.port) ?? (s.ssl === true ? 6697 : undefined));
    put(
      srv,
      'additional_addresses',
      Array.isArray(s.additionalAddresses) ? s.additionalAddresses.filter((a) => typeof a === 'string') : undefined,
    );
    put(srv, 'only_additional_addresses', bool(s.onlyAdditionalAddresses));
    put(srv, 'tls.enabled', bool(s.ssl));
    put(srv, 'tls.allow_self_signed', bool(s.sslselfsign) || bool(s.allowExpiredCerts) || undefined);
    if (s.allowExpiredCerts === true)
      note(`${at}.allowExpiredCerts`, 'became tls.allow_self_signed (which also accepts expired certificates).');
    if (has(s, 'tlsOptions'))
      note(`${at}.tlsOptions`, 'not carried over: only tls.enabled, tls.allow_self_signed and tls.client_certificate exist.');
    if (s.sasl === true) put(srv, 'sasl.mechanism', 'plain');
    put(srv, 'password', str(s.password));
    if (has(s, 'sendConnectionMessages'))
      note(`${at}.sendConnectionMessages`, 'not carried over: users are always told about their connection.');
    if (has(s, 'icon')) note(`${at}.icon`, 'not carried over.');
    const qd = obj(s.quitDebounce);
    put(srv, 'membership.quit_debounce.enabled', bool(qd.enabled));
    put(srv, 'membership.quit_debounce.quits_per_second', num(qd.quitsPerSecond));
    put(srv, 'membership.quit_debounce.delay_min_ms', num(qd.delayMinMs));
    put(srv, 'membership.quit_debounce.delay_max_ms', num(qd.delayMaxMs));

    const bot = obj(s.botConfig);
    put(srv, 'bot.enabled', bool(bot.enabled));
    put(srv, 'bot.nick', str(bot.nick));
    put(srv, 'bot.username', str(bot.username));
    put(srv, 'bot.password', str(bot.password));
    if (has(bot, 'joinChannelsIfNoUsers'))
      note(`${at}.botConfig.joinChannelsIfNoUsers`, 'not needed: the bot joins every bridged channel.');

    const pm = obj(s.privateMessages);
    put(srv, 'private_messages.enabled', bool(pm.enabled));
    if (bool(pm.federate) !== undefined) dmFederate.add(pm.federate as boolean);
    if (has(pm, 'exclude')) note(`${at}.privateMessages.exclude`, 'not carried over (MAI ignored it too).');

    const dyn = obj(s.dynamicChannels);
    put(srv, 'dynamic_channels.enabled', bool(dyn.enabled));
    put(srv, 'dynamic_channels.published', bool(dyn.published));
    if (dyn.joinRule === 'public' || dyn.joinRule === 'invite') put(srv, 'dynamic_channels.join_rule', dyn.joinRule);
    put(srv, 'dynamic_channels.exclude', Array.isArray(dyn.exclude) ? dyn.exclude.filter((c) => typeof c === 'string') : undefined);
    if (str(dyn.aliasTemplate)) aliasTemplates.add(template(dyn.aliasTemplate as string, '$CHANNEL'));
    if (bool(dyn.federate) !== undefined) portalRooms.federate.add(dyn.federate as boolean);
    if (str(dyn.roomVersion)) portalRooms.roomVersion.add(dyn.roomVersion as string);
    if (dyn.createAlias === false) note(`${at}.dynamicChannels.createAlias`, 'not carried over: portal rooms always get their alias.');
    if (dyn.useHomeserverDirectory === true)
      note(`${at}.dynamicChannels.useHomeserverDirectory`, "not carried over: published portals are listed in the homeserver's directory.");
    if (Array.isArray(dyn.whitelist) && dyn.whitelist.length)
      note(`${at}.dynamicChannels.whitelist`, 'not carried over: with join_rule invite, !join invites whoever asks.');

    const mappings: Obj = {};
    for (const [channel, m] of Object.entries(obj(s.mappings))) {
      // The pre-0.15 form was a bare list of room IDs.
      const roomIds = Array.isArray(m) ? m : obj(m).roomIds;
      if (!Array.isArray(roomIds) || !roomIds.length) {
        note(`${at}.mappings.${channel}`, 'has no room IDs; skipped.');
        continue;
      }
      mappings[channel] = { room_ids: roomIds, ...(str(obj(m).key) ? { key: obj(m).key } : {}) };
    }
    if (Object.keys(mappings).length) put(srv, 'mappings', mappings);

    const excluded = Array.isArray(s.excludedUsers) ? s.excludedUsers : [];
    const regexes = excluded.map((e) => obj(e).regex).filter((r): r is string => typeof r === 'string');
    if (regexes.length) put(srv, 'excluded_users', regexes);
    if (excluded.some((e) => has(obj(e), 'kickReason')))
      note(`${at}.excludedUsers[].kickReason`, 'not carried over: excluded users are not connected; they are not kicked.');

    const ml = obj(s.membershipLists);
    const g = obj(ml.global);
    const i2m = obj(g.ircToMatrix);
    const m2i = obj(g.matrixToIrc);
    if (ml.enabled === true) {
      put(srv, 'membership.irc_to_matrix.initial', bool(i2m.initial) ?? false);
      put(srv, 'membership.irc_to_matrix.incremental', bool(i2m.incremental) ?? false);
      put(srv, 'membership.irc_to_matrix.require_matrix_joined', bool(i2m.requireMatrixJoined));
      put(srv, 'membership.matrix_to_irc.initial', bool(m2i.initial) ?? false);
      put(srv, 'membership.matrix_to_irc.incremental', bool(m2i.incremental) ?? false);
    } else {
      // MAI mirrored nothing unless enabled; here joins and leaves are mirrored by default.
      for (const d of ['irc_to_matrix', 'matrix_to_irc'])
        for (const k of ['initial', 'incremental']) put(srv, `membership.${d}.${k}`, false);
      note(`${at}.membershipLists.enabled`, 'was off: membership mirroring is turned off explicitly (it is on by default here).');
    }
    put(srv, 'membership.flood_delay_ms', num(ml.floodDelayMs));
    const idle = obj(ml.ignoreIdleUsersOnStartup ?? ml.ignoreIdleOnStartup);
    if (idle.enabled === true && num(idle.idleForHours) !== undefined) {
      put(srv, 'membership.initial_skip_idle_days', Math.min(30, Math.max(1, Math.ceil((idle.idleForHours as number) / 24))));
      if (has(idle, 'exclude')) note(`${at}.membershipLists.ignoreIdleUsersOnStartup.exclude`, 'not carried over.');
    }
    if ((Array.isArray(ml.rooms) && ml.rooms.length) || (Array.isArray(ml.channels) && ml.channels.length)) {
      note(
        `${at}.membershipLists.rooms/channels`,
        'per-room and per-channel overrides are not carried over; the network-wide settings apply.',
      );
    }

    const mc = obj(s.matrixClients);
    if (str(mc.userTemplate)) ghostTemplates.add(template(mc.userTemplate as string, '$NICK'));
    if (str(mc.displayName)) put(srv, 'ghost_display_name', (mc.displayName as string).split('$SERVER').join('$NETWORK'));
    if (has(mc, 'joinAttempts')) note(`${at}.matrixClients.joinAttempts`, 'not carried over: ghost joins are retried with backoff.');

    const ic = obj(s.ircClients);
    put(srv, 'clients.nick_template', str(ic.nickTemplate));
    put(srv, 'clients.allow_nick_changes', bool(ic.allowNickChanges));
    put(srv, 'clients.max_clients', num(ic.maxClients));
    put(srv, 'clients.idle_timeout_s', num(ic.idleTimeout));
    const interval = num(ic.reconnectIntervalMs);
    if (interval !== undefined && interval > 0) put(srv, 'clients.connect_rate_per_second', Math.round((1000 / interval) * 1000) / 1000);
    put(srv, 'clients.concurrent_reconnect_limit', num(ic.concurrentReconnectLimit));
    put(srv, 'clients.line_limit', num(ic.lineLimit));
    put(srv, 'clients.ping_timeout_s', secs(ic.pingTimeoutMs));
    put(srv, 'clients.ping_interval_s', secs(ic.pingRateMs));
    put(srv, 'clients.user_modes', str(ic.userModes));
    if (ic.realnameFormat === 'mxid' || ic.realnameFormat === 'reverse-mxid') put(srv, 'clients.realname_format', ic.realnameFormat);
    const kick = obj(ic.kickOn);
    put(srv, 'clients.kick_on.channel_join_failure', bool(kick.channelJoinFailure));
    put(srv, 'clients.kick_on.connection_failure', bool(kick.ircConnectionFailure));
    put(srv, 'clients.kick_on.user_quit', bool(kick.userQuit));
    const v6 = obj(ic.ipv6);
    if (str(v6.prefix)) put(srv, 'clients.ipv6_prefix', v6.prefix);
    if (has(v6, 'blocks') || v6.only === true)
      note(`${at}.ircClients.ipv6.blocks/only`, 'not carried over: each user gets an address from ipv6_prefix.');

    if (str(svc.encodingFallback)) put(srv, 'encoding_fallback', svc.encodingFallback);
    const ih = obj(svc.ircHandler);
    put(srv, 'power_level_grace_ms', num(ih.powerLevelGracePeriodMs) ?? num(ih.powerLevelGracePeriod));
  }

  // Templates are one for the bridge here (MAI had one per network).
  const one = (set: Set<string>, key: string, maiKey: string) => {
    if (set.size === 1) put(out, key, [...set][0]);
    else if (set.size > 1) note(maiKey, `networks used different templates (${[...set].join(', ')}); set ${key} yourself.`);
  };
  one(ghostTemplates, 'bridge.ghost_localpart_template', 'ircService.servers.*.matrixClients.userTemplate');
  if (ghostTemplates.size === 1) {
    note(
      'ircService.servers.*.matrixClients.userTemplate',
      'kept, so ghosts keep their user IDs; a nick with characters a user ID cannot hold may be escaped differently than MAI did, giving that nick a new ghost.',
    );
  }
  one(aliasTemplates, 'bridge.alias_localpart_template', 'ircService.servers.*.dynamicChannels.aliasTemplate');
  const onlyOne = <T>(set: Set<T>, key: string, maiKey: string) => {
    if (set.size === 1) put(out, key, [...set][0]);
    else if (set.size > 1) note(maiKey, `networks differed; it is one setting (${key}) here, left at its default.`);
  };
  onlyOne(portalRooms.federate, 'bridge.portal_rooms.federate', 'ircService.servers.*.dynamicChannels.federate');
  onlyOne(portalRooms.roomVersion, 'bridge.portal_rooms.room_version', 'ircService.servers.*.dynamicChannels.roomVersion');
  onlyOne(dmFederate, 'bridge.dm_rooms.federate', 'ircService.servers.*.privateMessages.federate');

  // ---- ircService (global) ----
  const ident = obj(svc.ident);
  put(out, 'irc.ident.enabled', bool(ident.enabled));
  put(out, 'irc.ident.port', num(ident.port));
  put(out, 'irc.ident.address', str(ident.address));

  const log = obj(svc.logging);
  const level = str(log.level)?.toLowerCase();
  if (level)
    put(
      out,
      'logging.level',
      level === 'warning' ? 'warn' : ['error', 'warn', 'info', 'debug', 'trace'].includes(level) ? level : undefined,
    );
  put(out, 'logging.file', str(log.logfile));
  if (has(log, 'errfile') || has(log, 'maxFiles'))
    note('ircService.logging.errfile/maxFiles', 'not carried over: one log file (rotate it with logrotate).');

  const metrics = obj(svc.metrics);
  put(out, 'metrics.enabled', bool(metrics.enabled));
  put(out, 'metrics.port', num(metrics.port));
  put(out, 'metrics.bind_host', str(metrics.host));
  // MAI served /metrics to anyone who could reach it; here that takes saying so.
  if (metricsConfigProblem(obj(out.metrics))) {
    put(out, 'metrics.public', true);
    note(
      'ircService.metrics.host',
      `MAI served /metrics without authentication on ${String(metrics.host)}; kept so with metrics.public: true. Better: set metrics.bearer_token (and give it to Prometheus), or bind to 127.0.0.1.`,
    );
  }
  if (has(metrics, 'userActivityThresholdHours') || has(metrics, 'remoteUserAgeBuckets')) {
    note(
      'ircService.metrics.userActivityThresholdHours/remoteUserAgeBuckets',
      'not carried over: active users are reported over fixed windows.',
    );
  }

  const prov = obj(svc.provisioning);
  put(out, 'provisioning.enabled', bool(prov.enabled));
  const secret = str(prov.secret);
  if (secret && secret.length >= 32) put(out, 'provisioning.secret', secret);
  else if (secret)
    note(
      'ircService.provisioning.secret',
      'not carried over: shorter than the 32 characters required here. Give integration managers a new provisioning.secret (Matrix users sign in with OpenID without one).',
    );
  put(out, 'provisioning.path_prefix', str(prov.apiPrefix));
  put(out, 'provisioning.port', num(obj(prov.http).port));
  put(out, 'irc.provisioning.request_timeout_s', num(prov.requestTimeoutSeconds));
  put(out, 'irc.provisioning.room_limit', num(prov.roomLimit));
  const rules = obj(obj(prov.rules).userIds);
  put(out, 'irc.provisioning.rules.conflict', Array.isArray(rules.conflict) ? rules.conflict : undefined);
  put(out, 'irc.provisioning.rules.exempt', Array.isArray(rules.exempt) ? rules.exempt : undefined);
  if (has(prov, 'widget')) note('ircService.provisioning.widget', 'not carried over: no setup widget is served.');
  const overrides = Object.entries(obj(prov.openIdOverrides)).filter(([, url]) => typeof url === 'string' && /^https?:\/\//.test(url));
  if (overrides.length)
    put(
      out,
      'provisioning.openid.overrides',
      Object.fromEntries(overrides.map(([name, url]) => [name, (url as string).replace(/\/+$/, '')])),
    );
  if (has(prov, 'openIdDisallowedIpRanges'))
    note(
      'ircService.provisioning.openIdDisallowedIpRanges',
      "not carried over: private and loopback addresses are refused unless listed in provisioning.openid.allowed_ips (this homeserver's own users are looked up at homeserver.url).",
    );

  if (str(svc.passwordEncryptionKeyPath)) {
    note(
      'ircService.passwordEncryptionKeyPath',
      'not carried over: stored passwords are sealed with a key of their own here (irc.passwords); users store theirs again with !storepass (migrate-mai-rooms brings their nicks, not their passwords).',
    );
  }

  const mh = obj(svc.matrixHandler);
  put(out, 'irc.replies.short_template', str(mh.shortReplyTemplate));
  put(out, 'irc.replies.long_template', str(mh.longReplyTemplate));
  put(out, 'irc.replies.short_window_s', num(mh.shortReplyTresholdSeconds) ?? num(mh.shortReplyThresholdSeconds));
  put(out, 'irc.replies.quote_max_chars', num(mh.replySourceMaxLength));
  if (has(mh, 'eventCacheSize')) note('ircService.matrixHandler.eventCacheSize', 'not needed: replies are looked up in the message map.');
  if (has(mh, 'truncatedMessageTemplate'))
    note('ircService.matrixHandler.truncatedMessageTemplate', 'not carried over: long messages read "(full message at <URL>)".');

  const mention = obj(svc.ircHandler).mapIrcMentionsToMatrix;
  if (mention === 'on' || mention === 'off' || mention === 'force-off') put(out, 'irc.mention_pills', mention);

  const admins: string[] = [];
  for (const [who, level] of Object.entries(obj(svc.permissions))) {
    if (level !== 'admin') {
      note(`ircService.permissions.${who}`, `level "${String(level)}" has no counterpart; only admin is carried over.`);
      continue;
    }
    admins.push(who === '*' ? '*' : who.startsWith('@') ? who : `@*:${who}`);
  }
  if (admins.length) put(out, 'bridge.admins', admins);

  const prc = obj(svc.perRoomConfig);
  put(out, 'irc.per_room_config.enabled', bool(prc.enabled));
  put(out, 'irc.per_room_config.line_limit_max', num(prc.lineLimitMax));
  put(out, 'irc.per_room_config.allow_unconnected_matrix_users', bool(prc.allowUnconnectedMatrixUsers));

  const ban = obj(svc.banLists);
  if (Array.isArray(ban.rooms) && ban.rooms.length) put(out, 'bridge.ban_lists.rooms', ban.rooms);

  const mp = obj(svc.mediaProxy);
  put(out, 'media_proxy.public_url', str(mp.publicUrl));
  const ttl = num(mp.ttlSeconds);
  if (ttl !== undefined) put(out, 'media_proxy.link_lifetime_days', ttl === 0 ? 0 : Math.max(1, Math.round(ttl / 86_400)));
  if (has(mp, 'bindPort') || has(mp, 'signingKeyPath')) {
    note(
      'ircService.mediaProxy.bindPort/signingKeyPath',
      "the media proxy is served on the appservice listener with its own signing key; point media_proxy.public_url's reverse proxy there. Old links stop working.",
    );
  }
  if (has(svc, 'bridgeInfoState'))
    note('ircService.bridgeInfoState', 'always on: every portal carries bridge-info state, refreshed at start.');
  if (has(svc, 'debugApi'))
    note('ircService.debugApi', 'no HTTP debug API: bridge admins use !connections, !disconnect and !reapidle in their admin room.');
  for (const k of ['RMAUlimit', 'userActivity', 'ignoreFunctionalMembersInAdminRooms']) {
    if (has(svc, k)) note(`ircService.${k}`, 'not carried over: no counterpart.');
  }
  for (const k of ['sentry', 'connectionPool', 'advanced']) if (has(mai, k)) note(k, 'not carried over: no counterpart.');

  // ---- database ----
  const db = obj(mai.database);
  const conn = str(db.connectionString);
  if (db.engine === 'postgres' && conn) {
    put(out, 'database.engine', 'postgres');
    put(out, 'database.postgres.connection_string', conn);
    note(
      'database',
      "use a new, empty PostgreSQL database, and import MAI's rooms and users' nicks into it with `causeway-irc migrate-mai-rooms --postgres <MAI connection string>` before the first start.",
    );
  } else if (conn) {
    put(out, 'database.engine', 'nedb');
    note(
      'database',
      `the embedded store starts empty in database.nedb.directory; import MAI's rooms and users' nicks into it with \`causeway-irc migrate-mai-rooms --nedb ${conn.replace(/^nedb:\/\//, '')}\` before the first start.`,
    );
  }
  return { config: out, notes };
}
