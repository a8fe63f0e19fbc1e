// Channel-name validation against the network's ISUPPORT CHANTYPES and CHANNELLEN: a name with a
// space or comma would address several channels or smuggle extra parameters into JOIN/PART.

export interface ChannelRules {
  /** ISUPPORT CHANTYPES, e.g. "#" on InspIRCd 3. */
  chanTypes?: string;
  /** ISUPPORT CHANNELLEN in bytes (InspIRCd 3 default 64). */
  channelLen?: number;
}

export function isValidChannelName(name: string, rules: ChannelRules = {}): boolean {
  const chanTypes = rules.chanTypes ?? '#&';
  const channelLen = rules.channelLen ?? 64;
  if (name.length < 2) return false;
  if (!chanTypes.includes(name[0])) return false;
  if (Buffer.byteLength(name, 'utf8') > channelLen) return false;
  // Space, comma, BEL and colon are separators or forbidden (RFC 1459/2812); controls never belong.
  return !/[\s,:\x00-\x1f\x7f]/.test(name);
}
