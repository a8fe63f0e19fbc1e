/**
 * The Gitter bridge under test: the Gitter emulator, the homeserver emulator and the real Bridge
 * with the GitterConnector (through `@causeway/testing/bridge`), plus helpers to read what a
 * Matrix user sees and to send admin-room commands.
 */
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { GitterEmulator, type GitterEmulatorOptions, type GitterTestUser, type HomeserverEmulator, type TestUser } from '@causeway/testing';
import { GitterConnector, type GitterConfig } from '@causeway/gitter-bridge';

export const BOT = '@gitterbot:localhost';

export interface GitterBridge {
  fx: BridgeFixture<GitterConfig>;
  gitter: GitterEmulator;
  /** The bridge's Gitter account. */
  relay: GitterTestUser;
  connector(): GitterConnector;
  stop(): Promise<void>;
}

export async function startGitterBridge(
  opts: {
    emulator?: GitterEmulatorOptions;
    gitter?: Record<string, unknown>;
    core?: Record<string, unknown> | ((asUrl: string) => Record<string, unknown>);
  } = {},
): Promise<GitterBridge> {
  const gitter = await GitterEmulator.start({ stream: { keepAliveMs: 200 }, ...opts.emulator });
  const relay = gitter.createUser('causeway-bot', { displayName: 'Matrix bridge' });
  let connector!: GitterConnector;
  const fx = await startBridgeFixture<GitterConfig>({
    connector: () => (connector = new GitterConnector()),
    configKey: 'gitter',
    // Specs serve avatars on 127.0.0.1: allowed as an operator would allow a media host on the
    // LAN. Specs of the address guard put their hostile hosts on 127.0.0.2.
    core: (asUrl) => ({
      remote_fetch: { allowed_private_ips: ['127.0.0.1'] },
      ...(typeof opts.core === 'function' ? opts.core(asUrl) : opts.core),
    }),
    connectorConfig: {
      rest_base_url: gitter.restBaseUrl,
      stream_base_url: gitter.streamBaseUrl,
      relay: { token: relay.token },
      stream: { reconnect_base_ms: 50, reconnect_max_ms: 500, stall_timeout_ms: 3000 },
      ...opts.gitter,
    },
  });
  return {
    fx,
    gitter,
    relay,
    connector: () => connector,
    async stop() {
      await fx.stop();
      await gitter.stop();
    },
  };
}

export const ghostId = (username: string) => `@gitter_${username.toLowerCase()}:localhost`;

export function messages(hs: HomeserverEmulator, roomId: string, sender?: string) {
  return hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && (!sender || e.sender === sender));
}

/** Bot replies in a room (e.g. an admin room). */
export function botMessages(hs: HomeserverEmulator, roomId: string): string[] {
  return messages(hs, roomId, BOT).map((e) => String(e.content.body));
}

/** An admin room between `user` and the bot; `command` sends a line and waits for the bot's reply. */
export async function adminRoom(hs: HomeserverEmulator, user: TestUser) {
  const roomId = await user.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
  await eventually(() => hs.membership(roomId, BOT) === 'join', 'bot joined the admin room');
  await eventually(() => botMessages(hs, roomId).length > 0, 'admin room welcome');
  return {
    roomId,
    async command(text: string): Promise<string> {
      const before = botMessages(hs, roomId).length;
      await user.sendMessage(roomId, text);
      return eventually(() => botMessages(hs, roomId)[before], `reply to ${text}`, 30_000);
    },
  };
}

/** A Matrix room `owner` created, with the bot invited, linked to a Gitter room URI by a bridge admin. */
export async function linkedRoom(
  b: GitterBridge,
  owner: TestUser,
  admin: { command(t: string): Promise<string> },
  room: { id: string; uri: string },
): Promise<string> {
  const roomId = await owner.createRoom({ preset: 'public_chat', invite: [BOT] });
  const reply = await admin.command(`!link ${roomId} ${room.uri}`);
  if (!reply.startsWith('Linked')) throw new Error(`link failed: ${reply}`);
  await eventually(() => b.gitter.streams.count({ roomId: room.id, token: b.relay.token }) === 1, 'relay stream open');
  await eventually(() => b.connector().streams.live(room.id), 'relay stream live');
  return roomId;
}

export { eventually };
