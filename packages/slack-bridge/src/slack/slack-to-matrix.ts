// A Slack message's text -> Matrix body/HTML: the rich_text blocks when the message has them
// and they parse completely, the mrkdwn `text` otherwise. Split in two steps so a caller can list
// the users and channels a message mentions (`slackReferences`), look them up (with its caches,
// asynchronously), then render with synchronous resolvers.
import type { RichDoc } from './rich-doc';
import { parseMrkdwn } from './mrkdwn-parse';
import { parseRichTextBlocks } from './rich-text-parse';
import { renderMatrix, type MatrixText, type SlackToMatrixResolvers } from './doc-to-html';

export interface SlackMessageParts {
  /** The message's mrkdwn `text`. */
  text?: unknown;
  /** The message's `blocks`. */
  blocks?: unknown;
}

/** The document for a Slack message, and which field it came from. */
export function parseSlackMessage(msg: SlackMessageParts): { doc: RichDoc; source: 'blocks' | 'text' } {
  const fromBlocks = parseRichTextBlocks(msg.blocks);
  if (fromBlocks && fromBlocks.length) return { doc: fromBlocks, source: 'blocks' };
  return { doc: parseMrkdwn(typeof msg.text === 'string' ? msg.text : ''), source: 'text' };
}

/** Converts a Slack message's text to Matrix `body`/`formatted_body` and mentions. */
export function slackToMatrix(msg: SlackMessageParts, resolvers: SlackToMatrixResolvers = {}): MatrixText {
  return renderMatrix(parseSlackMessage(msg).doc, resolvers);
}
