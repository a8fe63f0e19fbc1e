// The Gitter protocol layer: everything that speaks Gitter's REST and streaming APIs and its
// Markdown, independent of Matrix and of the bridge core.
export * from './types';
export * from './errors';
export * from './sleep';
export * from './rate-limit';
export * from './text-limit';
export * from './rest-client';
export * from './find-sent';
export * from './send-queue-store';
export * from './send-queue';
export * from './stream-parser';
export * from './seen-versions';
export * from './stream-client';
export * from './markdown-escape';
export * from './emote';
