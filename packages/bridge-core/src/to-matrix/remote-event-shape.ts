/**
 * Whether what a connector handed the core as a RemoteEvent has the shape the core reads. Types
 * say it must, but a connector builds events from what its network sent: a field missing there
 * used to throw inside the core (synchronously, before any promise), and a throw there ended
 * the process. A malformed event is refused with the reason, and nothing else is affected.
 */
import type { RemoteEvent } from '../connector/remote-events';

const TYPES = new Set<string>(['message', 'edit', 'delete', 'reaction', 'reaction.remove', 'membership', 'typing', 'meta', 'settings']);
const MEMBERSHIPS = new Set<string>(['join', 'leave', 'kick', 'ban', 'unban', 'invite']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const optStr = (v: unknown) => v === undefined || isStr(v);
const isKey = (v: unknown) => isObj(v) && isStr(v.network) && isStr(v.id) && v.id !== '' && optStr(v.receiver);

function senderProblem(s: unknown): string | undefined {
  if (!isObj(s)) return 'sender is not an object';
  if ('ghost' in s) return isKey(s.ghost) ? undefined : 'sender.ghost is not a ghost key';
  if ('matrixUserId' in s) return isStr(s.matrixUserId) ? undefined : 'sender.matrixUserId is not a string';
  return s.bot === true ? undefined : 'sender is none of ghost, matrixUserId, bot';
}

function contentProblem(c: unknown): string | undefined {
  if (!isObj(c)) return 'content is not an object';
  if (!isStr(c.body)) return 'content.body is not a string';
  if (!isStr(c.kind)) return 'content.kind is not a string';
  return optStr(c.html) ? undefined : 'content.html is not a string';
}

/** Why `ev` cannot be applied, or undefined when it has the shape of a RemoteEvent. */
export function remoteEventProblem(ev: unknown): string | undefined {
  if (!isObj(ev)) return 'not an object';
  if (!isStr(ev.type) || !TYPES.has(ev.type)) return `unknown type ${JSON.stringify(ev.type)}`;
  if (!isKey(ev.portal)) return 'portal is not a portal key';
  const sender = senderProblem(ev.sender);
  if (sender) return sender;
  if (ev.timestamp !== undefined && !(typeof ev.timestamp === 'number' && Number.isFinite(ev.timestamp)))
    return 'timestamp is not a number';
  if (!optStr(ev.originRoomId)) return 'originRoomId is not a string';
  switch (ev.type as RemoteEvent['type']) {
    case 'message':
      if (!isStr(ev.id) || !ev.id) return 'id is not a string';
      return contentProblem(ev.content);
    case 'edit':
      if (!isStr(ev.targetId)) return 'targetId is not a string';
      return contentProblem(ev.content);
    case 'delete':
      return isStr(ev.targetId) ? undefined : 'targetId is not a string';
    case 'reaction':
    case 'reaction.remove':
      return isStr(ev.targetId) && isStr(ev.key) ? undefined : 'targetId or key is not a string';
    case 'membership':
      if (!isStr(ev.membership) || !MEMBERSHIPS.has(ev.membership)) return `unknown membership ${JSON.stringify(ev.membership)}`;
      if (ev.target !== undefined && !isKey(ev.target)) return 'target is not a ghost key';
      return optStr(ev.targetMatrixUser) ? undefined : 'targetMatrixUser is not a string';
    case 'typing':
      return typeof ev.typing === 'boolean' ? undefined : 'typing is not a boolean';
    case 'meta':
      return optStr(ev.topic) && optStr(ev.name) ? undefined : 'topic or name is not a string';
    case 'settings':
      return ev.powerLevels === undefined || Array.isArray(ev.powerLevels) ? undefined : 'powerLevels is not an array';
  }
  return undefined;
}
