// Application-service registrations: validation as Synapse does at startup, compiled
// namespace regexes, and the namespace/exclusivity questions the rest of the emulator asks.

export interface NamespaceLike {
  exclusive: boolean;
  regex: string;
}

export interface RegistrationLike {
  id: string;
  url: string | null;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited?: boolean;
  receive_ephemeral?: boolean;
  push_ephemeral?: boolean;
  'de.sorunome.msc2409.push_ephemeral'?: boolean;
  namespaces: { users?: NamespaceLike[]; aliases?: NamespaceLike[]; rooms?: NamespaceLike[] };
  protocols?: string[];
}

interface Compiled {
  exclusive: boolean;
  re: RegExp;
}

function compile(list: unknown, what: string, id: string): Compiled[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error(`registration ${id}: namespaces.${what} must be a list`);
  return list.map((ns, i) => {
    if (typeof ns !== 'object' || ns === null) throw new Error(`registration ${id}: namespaces.${what}[${i}] must be an object`);
    const { exclusive, regex } = ns as NamespaceLike;
    if (typeof exclusive !== 'boolean') throw new Error(`registration ${id}: expected bool for 'exclusive' in namespaces.${what}[${i}]`);
    if (typeof regex !== 'string') throw new Error(`registration ${id}: expected string for 'regex' in namespaces.${what}[${i}]`);
    try {
      // Synapse uses Python's re.match: anchored at the start only. Registrations are
      // expected to anchor the end themselves (usually via the ":server" suffix).
      return { exclusive, re: new RegExp('^(?:' + regex + ')') };
    } catch (e) {
      throw new Error(`registration ${id}: invalid regex ${JSON.stringify(regex)} in namespaces.${what}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  });
}

const anyMatch = (list: Compiled[], s: string, exclusiveOnly: boolean) => list.some((n) => (!exclusiveOnly || n.exclusive) && n.re.test(s));

export type EphemeralKey = 'ephemeral' | 'de.sorunome.msc2409.ephemeral';

export class Appservice {
  readonly id: string;
  readonly url: string | null;
  readonly asToken: string;
  readonly hsToken: string;
  readonly senderUserId: string;
  readonly rateLimited: boolean;
  /** Key under which ephemeral events are pushed; undefined = the AS did not ask for them. */
  readonly ephemeralKey: EphemeralKey | undefined;
  readonly protocols: string[];
  readonly raw: RegistrationLike;
  private users: Compiled[];
  private aliases: Compiled[];
  private rooms: Compiled[];

  constructor(reg: RegistrationLike, serverName: string) {
    if (typeof reg !== 'object' || reg === null) throw new Error('registration must be an object');
    for (const k of ['id', 'as_token', 'hs_token', 'sender_localpart'] as const) {
      if (typeof reg[k] !== 'string' || reg[k] === '') throw new Error(`registration ${reg.id ?? '?'}: missing required key '${k}'`);
    }
    if (!('url' in reg) || (reg.url !== null && typeof reg.url !== 'string')) {
      throw new Error(`registration ${reg.id}: 'url' is required (string or null)`);
    }
    if (typeof reg.namespaces !== 'object' || reg.namespaces === null) {
      throw new Error(`registration ${reg.id}: missing required key 'namespaces'`);
    }
    if (reg.url) new URL(reg.url); // throws on garbage
    this.raw = reg;
    this.id = reg.id;
    this.url = reg.url ? reg.url.replace(/\/+$/, '') : null;
    this.asToken = reg.as_token;
    this.hsToken = reg.hs_token;
    this.senderUserId = `@${reg.sender_localpart}:${serverName}`;
    // The spec's default for rate_limited is true.
    this.rateLimited = reg.rate_limited !== false;
    this.ephemeralKey = reg.receive_ephemeral
      ? 'ephemeral'
      : reg['de.sorunome.msc2409.push_ephemeral'] || reg.push_ephemeral
        ? 'de.sorunome.msc2409.ephemeral'
        : undefined;
    this.protocols = Array.isArray(reg.protocols) ? reg.protocols.slice() : [];
    this.users = compile(reg.namespaces.users, 'users', reg.id);
    this.aliases = compile(reg.namespaces.aliases, 'aliases', reg.id);
    this.rooms = compile(reg.namespaces.rooms, 'rooms', reg.id);
  }

  /** In the users namespace (not counting the sender). */
  isUserInNamespace(userId: string, exclusiveOnly = false): boolean {
    return anyMatch(this.users, userId, exclusiveOnly);
  }

  /** The AS "owns" this user for identity assertion and interest: its bot or a namespaced user. */
  isInterestedInUser(userId: string): boolean {
    return userId === this.senderUserId || anyMatch(this.users, userId, false);
  }

  isAliasInNamespace(alias: string, exclusiveOnly = false): boolean {
    return anyMatch(this.aliases, alias, exclusiveOnly);
  }

  isRoomInNamespace(roomId: string): boolean {
    return anyMatch(this.rooms, roomId, false);
  }

  get hasRoomNamespaces(): boolean {
    return this.rooms.length > 0;
  }

  get hasAliasNamespaces(): boolean {
    return this.aliases.length > 0;
  }
}

export class AppserviceRegistry {
  private byId = new Map<string, Appservice>();
  private byToken = new Map<string, Appservice>();
  private list: Appservice[] = [];

  constructor(private serverName: string) {}

  add(reg: RegistrationLike): Appservice {
    const as = new Appservice(reg, this.serverName);
    if (this.byId.has(as.id)) throw new Error(`duplicate appservice id ${as.id}`);
    if (this.byToken.has(as.asToken)) throw new Error(`appservice ${as.id}: as_token already used by ${this.byToken.get(as.asToken)!.id}`);
    this.byId.set(as.id, as);
    this.byToken.set(as.asToken, as);
    this.list.push(as);
    return as;
  }

  all(): readonly Appservice[] {
    return this.list;
  }

  get(id: string): Appservice | undefined {
    return this.byId.get(id);
  }

  forToken(token: string): Appservice | undefined {
    return this.byToken.get(token);
  }

  /** Any AS holding this user in an exclusive namespace (or as its bot). */
  exclusiveUserOwners(userId: string): Appservice[] {
    return this.list.filter((a) => a.senderUserId === userId || a.isUserInNamespace(userId, true));
  }

  exclusiveAliasOwners(alias: string): Appservice[] {
    return this.list.filter((a) => a.isAliasInNamespace(alias, true));
  }
}
