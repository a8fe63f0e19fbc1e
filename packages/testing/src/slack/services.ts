// The parts of the emulator a Web API method may use, handed to every handler.
import type { ConversationActions } from './conversation-actions';
import type { EventDispatcher } from './dispatcher';
import type { FileActions } from './file-actions';
import type { MessageActions } from './message-actions';
import type { OAuthCodes } from './oauth';
import type { SocketModeServer } from './socket-mode';
import type { SlackState } from './state';
import type { UserActions } from './user-actions';

export interface Services {
  state: SlackState;
  events: EventDispatcher;
  messages: MessageActions;
  conversations: ConversationActions;
  users: UserActions;
  files: FileActions;
  socketMode: SocketModeServer;
  oauth: OAuthCodes;
  /** Records ephemeral messages (chat.postEphemeral), which have no event and no history. */
  ephemeral: { channel: string; user: string; ts: string; text: string; blocks?: unknown[]; appId?: string }[];
}
