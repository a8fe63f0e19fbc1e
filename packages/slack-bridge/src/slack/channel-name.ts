// What a Matrix room name becomes as a Slack channel name (Slack: lower-case letters, digits, `-`
// and `_`, at most 80 characters), for renaming a channel from Matrix (to-slack/room-meta).

/** Slack channel names: lower-case letters, digits, `-` and `_`, at most 80 characters. */
const MAX_NAME = 80;

/** The Slack channel name a Matrix room name becomes ('' when nothing of it is left). */
export function slackChannelName(roomName: string): string {
  return roomName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off: "Café" → "cafe"
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME)
    .replace(/-+$/g, '');
}
