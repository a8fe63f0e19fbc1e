// The Slack protocol layer: everything that speaks Slack's formats, independent of Matrix rooms
// and of the bridge core (the connector builds on it).
export * from './escape';
export * from './rich-doc';
export * from './mrkdwn-parse';
export * from './rich-text-parse';
export * from './slack-date';
export * from './doc-to-html';
export * from './slack-to-matrix';
export * from './doc-to-mrkdwn';
export * from './emoji';
export * from './custom-emoji';
export * from './signature';
export * from './events';
export * from './parse-event';
export * from './message-id';
export * from './pending-sends';
export * from './send-errors';
export * from './send-queue';
export * from './channel-name';
