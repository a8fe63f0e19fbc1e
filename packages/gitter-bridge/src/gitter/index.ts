// The Gitter protocol layer: everything that speaks Gitter's REST and streaming APIs and its
// Markdown, independent of Matrix and of the bridge core.
export * from './errors';
export * from './text-limit';
export * from './markdown-escape';
export * from './markdown-to-html';
export * from './html-to-markdown';
export * from './emote';
