// Homeserver releases a bridge still meets in the wild, as profiles of what they do
// differently where a bridge can see it. `current` is today's Synapse; the others
// switch the emulator to an older release's behaviour, quirks included.
import { MatrixError, unrecognized } from './errors';

export type EmulatorProfile = 'current' | 'synapse-1.67';

export interface ProfileRules {
  readonly name: EmulatorProfile;
  /** The answer to a request no route serves (`methodOnly`: the path exists under another method). */
  unknownEndpoint(methodOnly: boolean): MatrixError;
  /** Endpoint keys this release does not serve at all: they are unknown endpoints. */
  readonly absent: ReadonlySet<string>;
  /**
   * Appservice calls (pushes, queries, third-party lookups) go to the unprefixed legacy paths
   * only, with the hs_token only in `?access_token=` (Synapse before 1.81).
   */
  readonly legacyAppserviceCalls: boolean;
  /** Whether new media is frozen on the unauthenticated routes by default (Matrix 1.11). */
  readonly legacyMediaFrozen: boolean;
}

const CURRENT: ProfileRules = {
  name: 'current',
  unknownEndpoint: (methodOnly) => unrecognized(methodOnly ? 405 : 404),
  absent: new Set(),
  legacyAppserviceCalls: false,
  legacyMediaFrozen: true,
};

/**
 * Synapse 1.67 (autumn 2022), still run by operators who never upgraded. An unknown endpoint
 * or method is 400 `M_UNRECOGNIZED` (404/405 came with MSC3743, Synapse 1.7x); it has no
 * appservice ping (Matrix 1.7), no authenticated media (1.11) and no async upload; it pushes to
 * `/transactions/{txnId}?access_token=…`. With SQLite it also restarts its appservice
 * transaction numbering (see `HomeserverEmulator.restart`).
 */
const SYNAPSE_1_67: ProfileRules = {
  name: 'synapse-1.67',
  unknownEndpoint: () => new MatrixError(400, 'M_UNRECOGNIZED', 'Unrecognized request'),
  absent: new Set([
    'POST /appservice/{appserviceId}/ping',
    'GET /media/config',
    'GET /media/download/{serverName}/{mediaId}',
    'GET /media/thumbnail/{serverName}/{mediaId}',
    'POST /_matrix/media/v1/create',
    'PUT /_matrix/media/v3/upload/{serverName}/{mediaId}',
  ]),
  legacyAppserviceCalls: true,
  legacyMediaFrozen: false,
};

export function profileRules(profile: EmulatorProfile = 'current'): ProfileRules {
  switch (profile) {
    case 'current':
      return CURRENT;
    case 'synapse-1.67':
      return SYNAPSE_1_67;
    default:
      throw new Error(`unknown emulator profile ${String(profile)}`);
  }
}
