/**
 * An error a connector throws when it refuses or fails to deliver something a
 * user did. The core shows `userMessage` to that user (as a notice in the room
 * or in their admin room), so nothing fails silently.
 */
export class BridgeError extends Error {
  constructor(
    /** Shown to the Matrix user; must not contain secrets. */
    public readonly userMessage: string,
    public readonly opts: {
      /** Whether retrying later could succeed (the core may retry instead of telling the user). */
      retryable?: boolean;
      /** Where to tell the user: in the room (default) or privately in their admin room. */
      notify?: 'room' | 'admin-room' | 'none';
      cause?: unknown;
    } = {},
  ) {
    super(userMessage);
    this.name = 'BridgeError';
  }
}
