/**
 * Errors a connector throws: BridgeError when it cannot deliver what a user did, ConfigError when
 * its config section is wrong in a way the schema cannot express.
 */

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

/** A configuration (or registration) problem the operator must fix. The message lists every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** Short headline, e.g. "config.yaml is not valid". */
    readonly headline: string,
    /** One line per problem: `key.path: what is wrong (expected …)`. */
    readonly problems: string[] = [],
    /** Set when the file itself does not exist (callers may then offer to create it). */
    readonly fileMissing = false,
  ) {
    super(problems.length ? `${headline}:\n${problems.map((p) => `  - ${p}`).join('\n')}` : headline);
  }
}
