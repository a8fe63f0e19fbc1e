/**
 * A command a connector adds to its executable next to the core's (`runBridge({ commands })`),
 * e.g. a migration from another bridge's config.
 */
export interface ConnectorCliCommand {
  name: string;
  /** Its arguments, for the usage text, e.g. `MAI_CONFIG [-o FILE]`. */
  args: string;
  summary: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: readonly string[], io: { stdout(text: string): void; stderr(text: string): void }): Promise<number>;
}
