// Every implemented Web API method, by name. Anything else answers `unknown_method`.
import type { MethodHandler } from '../web-api';
import { authMethods } from './auth';
import { chatMethods } from './chat';
import { conversationMethods } from './conversations';
import { fileMethods } from './files';
import { reactionMethods } from './reactions';
import { userMethods } from './users';

export const METHOD_HANDLERS: Readonly<Record<string, MethodHandler>> = {
  ...authMethods,
  ...chatMethods,
  ...conversationMethods,
  ...userMethods,
  ...reactionMethods,
  ...fileMethods,
};
