/**
 * `causeway-irc migrate-mai-config MAI_CONFIG [-o FILE]`: writes this bridge's config from a
 * matrix-appservice-irc config. What did not carry over is listed at the top of the file (and on
 * stderr); the result is checked against the schema, and what is still missing (MAI allowed a
 * provisioning secret under 32 characters, say) is named by key.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { ConfigError, type ConnectorCliCommand } from '@causeway/bridge-core';
import { validateConfig } from '@causeway/bridge-core/tools';
import { IRC_CONFIG_SECTION } from './config-section';
import { convertMaiConfig } from './mai-config';

export const migrateMaiConfigCommand: ConnectorCliCommand = {
  name: 'migrate-mai-config',
  args: 'MAI_CONFIG [-o FILE]',
  summary: 'Write a config for this bridge from a matrix-appservice-irc config.yaml (to stdout or FILE)',
  async run(argv, io) {
    let input: string | undefined;
    let output: string | undefined;
    let bad = false;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '-o' || a === '--output') output = argv[++i] ?? '';
      else if (!a.startsWith('-') && input === undefined) input = a;
      else bad = true;
    }
    if (!input || output === '' || bad) {
      io.stderr('Usage: migrate-mai-config MAI_CONFIG [-o FILE]');
      return 2;
    }
    if (output && existsSync(output)) {
      io.stderr(`${output} exists; not overwriting it. Choose another file or remove it.`);
      return 1;
    }
    let mai: unknown;
    try {
      mai = parse(readFileSync(input, 'utf8'));
    } catch (err) {
      io.stderr(`Could not read ${input} as YAML: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    const { config, notes } = convertMaiConfig(mai);
    const problems: string[] = [];
    try {
      // On a copy: validation fills in defaults, and the file should hold only what was carried over.
      validateConfig(structuredClone(config), IRC_CONFIG_SECTION);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
    const header = [
      `Converted from ${input} (matrix-appservice-irc) by causeway-irc migrate-mai-config.`,
      ...(problems.length ? ['', 'Still to fix before the bridge starts:', ...problems.map((p) => `  - ${p}`)] : []),
      ...(notes.length ? ['', 'Not carried over, or changed:', ...notes.map((n) => `  - ${n}`)] : []),
    ]
      .map((l) => `# ${l}`.trimEnd())
      .join('\n');
    const text = `${header}\n\n${stringify(config)}`;
    if (output) writeFileSync(output, text, { mode: 0o600 });
    else io.stdout(text);
    if (output)
      io.stderr(
        `Wrote ${output}. ${notes.length} note(s)${problems.length ? `, ${problems.length} problem(s) to fix` : ''}: see the top of the file.`,
      );
    for (const p of problems) io.stderr(`to fix: ${p}`);
    return 0;
  },
};
