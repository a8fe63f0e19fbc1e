/**
 * Bridge-info room state (MSC2346): every portal room the core creates or links says in its
 * state which bridge serves it and which remote place it is linked to, so clients can show a
 * "bridged to #channel on Network" banner and other bots can avoid double-bridging.
 *
 * - Sent by the bridge bot as both `m.bridge` (the MSC's name) and `uk.half-shot.bridge` (what
 *   clients read today), with the same content.
 * - State key `<protocol id>/<network>/<remote id>` (network empty when the key has none). Inside
 *   each part `%` becomes `%25` and `/` becomes `%2F`, so the key has exactly two unescaped `/`
 *   and splits back into its parts; everything else (`#`, `:`…) stays readable.
 * - Created portals get it in `initial_state` (no extra request, present before anyone joins);
 *   linked rooms get it once linked; unlinking blanks both with `{}` (state cannot be deleted).
 * - Sending is best effort: the bot may lack the power to send state in a plumbed room, and a
 *   link must not fail over a banner. Failures are logged.
 * - What a room last accepted is remembered (bridge-info-record.ts), so each start brings rooms
 *   created before this existed, or whose content changed since, up to date (bridge-info-sync.ts).
 *
 * DM rooms get none: they are one person's conversation, not a bridged channel.
 */
import type { ProtocolInfo } from '../connector/connector';
import type { BridgeInfoProvider, BridgeInfoDisplay } from '../connector/capabilities';
import type { Logger } from '../logging/logger';
import type { Intent } from '../matrix/intent';
import type { Portal } from '../connector/portal';
import type { BridgeInfoRecord, StateEventInit } from './bridge-info-record';

const BRIDGE_INFO_TYPES = ['m.bridge', 'uk.half-shot.bridge'] as const;

interface BridgeInfoContent {
  bridgebot: string;
  creator?: string;
  protocol: { id: string; displayname: string };
  network?: { id: string; displayname: string; external_url?: string };
  channel: { id: string; displayname?: string; external_url?: string };
}

type Subject = Pick<Portal, 'key' | 'kind' | 'data'>;

const escapePart = (part: string): string => part.replace(/%/g, '%25').replace(/\//g, '%2F');

function bridgeInfoStateKey(protocolId: string, portal: Pick<Portal, 'key'>): string {
  return [protocolId, portal.key.network, portal.key.id].map(escapePart).join('/');
}

function bridgeInfoContent(opts: {
  bot: string;
  protocol: ProtocolInfo;
  portal: Subject;
  display?: BridgeInfoDisplay;
  creator?: string;
}): BridgeInfoContent {
  const { key } = opts.portal;
  const d = opts.display ?? {};
  return {
    bridgebot: opts.bot,
    ...(opts.creator ? { creator: opts.creator } : {}),
    protocol: { id: opts.protocol.id, displayname: opts.protocol.displayName },
    ...(key.network
      ? { network: { id: key.network, displayname: d.network?.displayname ?? key.network, ...pick(d.network, 'external_url') } }
      : {}),
    channel: { id: key.id, ...pick(d.channel, 'displayname'), ...pick(d.channel, 'external_url') },
  };
}

/** Only keys the connector actually set, so the content has no `undefined` holes. */
function pick<T extends object, K extends keyof T>(o: T | undefined, k: K): Partial<Pick<T, K>> {
  return o && o[k] !== undefined ? ({ [k]: o[k] } as Partial<Pick<T, K>>) : {};
}

export class BridgeInfoPublisher {
  constructor(
    private readonly deps: {
      bot: Intent;
      protocol: ProtocolInfo;
      provider?: BridgeInfoProvider;
      /** Where what each room accepted is remembered; without it nothing is (and every start resends). */
      record?: BridgeInfoRecord;
      log: Logger;
    },
  ) {}

  /**
   * The state events for a portal; a connector failing to describe it only costs the display names.
   * With `requireDisplay` the failure is thrown instead: a refresh of a room that already has its
   * banner must not replace the names with bare IDs because the connector was briefly unable to answer.
   */
  async stateEvents(portal: Subject, creator?: string, opts: { requireDisplay?: boolean } = {}): Promise<StateEventInit[]> {
    if (portal.kind === 'dm') return [];
    let display: BridgeInfoDisplay | undefined;
    try {
      display = await this.deps.provider?.bridgeInfo(portal);
    } catch (err) {
      if (opts.requireDisplay) throw err;
      this.deps.log.warn('connector could not describe a portal for its bridge info; sending IDs only', {
        network: portal.key.network,
        channel: portal.key.id,
        err: String(err),
      });
    }
    const content = bridgeInfoContent({ bot: this.deps.bot.userId, protocol: this.deps.protocol, portal, display, creator });
    return this.withKey(portal, content as unknown as Record<string, unknown>);
  }

  /** After a link: send both events. Never throws; true when the homeserver accepted both. */
  async publish(portal: Portal, creator?: string): Promise<boolean> {
    return this.publishEvents(portal, await this.stateEvents(portal, creator), creator);
  }

  /** Send events built by stateEvents() and remember them once accepted. Never throws; true when accepted. */
  async publishEvents(portal: Portal, events: StateEventInit[], creator?: string): Promise<boolean> {
    if (!events.length) return false;
    const ok = await this.send(portal, events, 'bridge info');
    if (ok) await this.remember(portal, events, creator);
    return ok;
  }

  /** A room was created with these events in its initial state: remember them, so no start resends them. */
  async created(portal: Portal, events: StateEventInit[]): Promise<void> {
    if (events.length) await this.remember(portal, events);
  }

  /** After an unlink: blank both events and forget them (a later link starts afresh). Never throws. */
  async clear(portal: Portal): Promise<void> {
    if (portal.kind === 'dm') return;
    await this.deps.record?.forget(portal.roomId).catch((err) =>
      this.deps.log.warn('could not forget the bridge info sent to an unlinked room', {
        roomId: portal.roomId,
        err: String(err),
      }),
    );
    await this.send(portal, this.withKey(portal, {}), 'blank bridge info');
  }

  /** A store failure here only means the next start sends the same events again. */
  private async remember(portal: Portal, events: StateEventInit[], creator?: string): Promise<void> {
    await this.deps.record?.remember(portal.roomId, events, creator).catch((err) =>
      this.deps.log.warn('could not record the bridge info sent to a room; the next start resends it', {
        roomId: portal.roomId,
        err: String(err),
      }),
    );
  }

  private withKey(portal: Subject, content: Record<string, unknown>): StateEventInit[] {
    const stateKey = bridgeInfoStateKey(this.deps.protocol.id, portal);
    return BRIDGE_INFO_TYPES.map((type) => ({ type, state_key: stateKey, content }));
  }

  private async send(portal: Portal, events: StateEventInit[], what: string): Promise<boolean> {
    const results = await Promise.allSettled(events.map((e) => this.deps.bot.sendState(portal.roomId, e.type, e.state_key, e.content)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.deps.log.warn(`could not send ${what} to the room (does the bot have power to send state?)`, {
        roomId: portal.roomId,
        network: portal.key.network,
        channel: portal.key.id,
        err: String(failed.reason),
      });
    }
    return !failed;
  }
}
