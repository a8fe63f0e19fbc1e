// reactions.add, reactions.remove (shortcode names, no colons), reactions.get.
import type { MethodHandler } from '../web-api';
import { messageJson } from '../wire';
import { conversationArg } from './common';

export const reactionMethods: Record<string, MethodHandler> = {
  'reactions.add': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.messages.react(ctx.actor(), conv, ctx.args.need('timestamp', 'no_item_specified'), ctx.args.need('name', 'invalid_name'));
    return {};
  },

  'reactions.remove': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.messages.unreact(
      ctx.actor(),
      conv,
      ctx.args.need('timestamp', 'no_item_specified'),
      ctx.args.need('name', 'invalid_name'),
    );
    return {};
  },

  'reactions.get': (ctx) => {
    const conv = conversationArg(ctx);
    const msg = ctx.services.state.message(conv, ctx.args.need('timestamp', 'no_item_specified'));
    return { type: 'message', channel: conv.id, message: messageJson(ctx.services.state, msg) };
  },
};
