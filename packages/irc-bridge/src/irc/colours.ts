// The mIRC colour palette: 0-15 classic, 16-98 extended (values as documented by the IRC client
// community, modern.ircdocs.horse), 99 = default. Used both ways: index -> hex for HTML, and
// nearest index for Matrix colours sent to IRC (most clients do not render \x04 hex colours).

const PALETTE: readonly string[] = [
  'ffffff',
  '000000',
  '00007f',
  '009300',
  'ff0000',
  '7f0000',
  '9c009c',
  'fc7f00',
  'ffff00',
  '00fc00',
  '009393',
  '00ffff',
  '0000fc',
  'ff00ff',
  '7f7f7f',
  'd2d2d2',
  '470000',
  '472100',
  '474700',
  '324700',
  '004700',
  '00472c',
  '004747',
  '002747',
  '000047',
  '2e0047',
  '470047',
  '47002a',
  '740000',
  '743a00',
  '747400',
  '517400',
  '007400',
  '007449',
  '007474',
  '004074',
  '000074',
  '4b0074',
  '740074',
  '740045',
  'b50000',
  'b56300',
  'b5b500',
  '7db500',
  '00b500',
  '00b571',
  '00b5b5',
  '0063b5',
  '0000b5',
  '7500b5',
  'b500b5',
  'b5006b',
  'ff0000',
  'ff8c00',
  'ffff00',
  'b2ff00',
  '00ff00',
  '00ffa0',
  '00ffff',
  '008cff',
  '0000ff',
  'a500ff',
  'ff00ff',
  'ff0098',
  'ff5959',
  'ffb459',
  'ffff71',
  'cfff60',
  '6fff6f',
  '65ffc9',
  '6dffff',
  '59b4ff',
  '5959ff',
  'c459ff',
  'ff66ff',
  'ff59bc',
  'ff9c9c',
  'ffd39c',
  'ffff9c',
  'e2ff9c',
  '9cff9c',
  '9cffdb',
  '9cffff',
  '9cd3ff',
  '9c9cff',
  'dc9cff',
  'ff9cff',
  'ff94d3',
  '000000',
  '131313',
  '282828',
  '363636',
  '4d4d4d',
  '656565',
  '818181',
  '9f9f9f',
  'bcbcbc',
  'e2e2e2',
  'ffffff',
];

/** '#rrggbb' for a palette index, undefined for 99/out of range. */
export function mircIndexToHex(index: number): string | undefined {
  const v = PALETTE[index];
  return v ? '#' + v : undefined;
}

/** Normalises '#rgb', '#rrggbb' or a few CSS names to '#rrggbb'; undefined if not a colour. */
export function normaliseHex(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  const named: Record<string, string> = {
    white: '#ffffff',
    black: '#000000',
    red: '#ff0000',
    green: '#008000',
    blue: '#0000ff',
    yellow: '#ffff00',
    orange: '#ffa500',
    purple: '#800080',
    grey: '#808080',
    gray: '#808080',
    cyan: '#00ffff',
    magenta: '#ff00ff',
    navy: '#000080',
    maroon: '#800000',
    teal: '#008080',
    lime: '#00ff00',
    pink: '#ffc0cb',
    brown: '#a52a2a',
  };
  if (named[v]) return named[v];
  let m = /^#([0-9a-f]{6})$/.exec(v);
  if (m) return '#' + m[1];
  m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(v);
  if (m) return '#' + m[1] + m[1] + m[2] + m[2] + m[3] + m[3];
  return undefined;
}

/** The palette index (0-98) closest to a hex colour; the 16 classic colours win ties. */
export function nearestMircIndex(hex: string): number {
  const n = normaliseHex(hex) ?? '#000000';
  const rgb = (h: string) => [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
  const [r, g, b] = rgb(n.slice(1));
  let best = 0;
  let bestD = Infinity;
  PALETTE.forEach((p, i) => {
    const [pr, pg, pb] = rgb(p);
    const d = (pr - r) ** 2 + (pg - g) ** 2 + (pb - b) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}
