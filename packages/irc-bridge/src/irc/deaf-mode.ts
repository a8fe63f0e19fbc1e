/**
 * Which user mode makes a connection deaf to channel chat, read from the
 * server's RPL_MYINFO (004): `<server> <version> <user modes> ...`.
 *
 * The letter differs between server families and a wrong guess is not harmless
 * everywhere (the same letter means something else elsewhere), so only families
 * whose deaf mode is known are recognised, and only when the server lists the
 * letter among its user modes (InspIRCd has it only with m_deaf loaded).
 */
const FAMILIES: Array<{ version: RegExp; letter: string }> = [
  { version: /^InspIRCd-/i, letter: 'd' },
  { version: /^UnrealIRCd-/i, letter: 'd' },
  { version: /^(solanum|charybdis|ircd-ratbox|ircd-hybrid|hybrid)-/i, letter: 'D' },
];

/** The deaf user mode letter for this server, or undefined when it has none we know of. */
export function deafModeFor(version: string | undefined, userModes: string | undefined): string | undefined {
  if (!version || !userModes) return undefined;
  const family = FAMILIES.find((f) => f.version.test(version));
  return family && userModes.includes(family.letter) ? family.letter : undefined;
}
