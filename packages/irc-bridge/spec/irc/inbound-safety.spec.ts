/**
 * The protocol layer's own guards against what the network sends: an observer that throws costs
 * only its own call, server lines are split with a bounded buffer, too-short lines are named
 * malformed, and `!cmd` JOIN/PART name only channels the bridge can address.
 */
import { strict as assert } from 'node:assert';
import { ObservableEvents, type ObserverFailure } from '../../src/irc/observable-events';
import { LineReader, MAX_LINE_BYTES } from '../../src/irc/line-reader';
import { malformedReason } from '../../src/irc/inbound-check';
import { parseRawCommand } from '../../src/irc/raw-command';

interface Events {
  ping: [number];
  other: [];
}

class Emitter extends ObservableEvents<Events> {
  readonly failures: ObserverFailure[] = [];
  fire(n: number): void {
    this.emit('ping', n);
  }
  protected override observerFailed(f: ObserverFailure): void {
    this.failures.push(f);
  }
}

describe('irc: observer isolation', () => {
  it('an observer or listener that throws costs only its own call; the failure is reported with the event', () => {
    const e = new Emitter();
    const seen: string[] = [];
    e.observe(
      {
        ping: (tag, n) => {
          seen.push(`${tag}:${n}`);
          throw new Error('observer boom');
        },
      },
      'first',
    );
    e.observe({ ping: (tag, n) => seen.push(`${tag}:${n}`) }, 'second');
    e.on('ping', (n) => {
      seen.push(`listener:${n}`);
      throw new Error('listener boom');
    });
    e.on('ping', (n) => seen.push(`listener2:${n}`));
    assert.doesNotThrow(() => e.fire(1));
    assert.deepEqual(seen, ['first:1', 'second:1', 'listener:1', 'listener2:1']);
    assert.deepEqual(
      e.failures.map((f) => [f.event, (f.error as Error).message]),
      [
        ['ping', 'observer boom'],
        ['ping', 'listener boom'],
      ],
    );
  });

  it('off() and once() still work on the isolated listeners', () => {
    const e = new Emitter();
    const seen: number[] = [];
    const fn = (n: number) => seen.push(n);
    e.on('ping', fn);
    e.once('ping', (n) => seen.push(n * 10));
    e.fire(1);
    e.off('ping', fn);
    e.fire(2);
    assert.deepEqual(seen, [1, 10]);
  });
});

describe('irc: inbound line reader', () => {
  const collect = (max?: number) => {
    const lines: string[] = [];
    const tooLong: number[] = [];
    const r = new LineReader({ line: (b) => lines.push(b.toString('latin1')), tooLong: (n) => tooLong.push(n) }, max);
    return { r, lines, tooLong };
  };

  it('splits lines however the bytes arrive', () => {
    const { r, lines } = collect();
    for (const piece of ['PING :a\r', '\nPRIV', 'MSG #c :', 'hi\r\n', 'X\r\nY\n', 'partial']) r.push(Buffer.from(piece, 'latin1'));
    assert.deepEqual(lines, ['PING :a\r\n', 'PRIVMSG #c :hi\r\n', 'X\r\n', 'Y\n']);
  });

  it('drops a line past the cap as it grows (reported once), skips to its end, and reads the next line', () => {
    const { r, lines, tooLong } = collect(100);
    r.push(Buffer.from('short\r\n'));
    for (let i = 0; i < 1000; i++) r.push(Buffer.alloc(1000, 0x41)); // 1 MB, no line end
    r.push(Buffer.from('AAAA\r\nnext\r\n'));
    assert.deepEqual(lines, ['short\r\n', 'next\r\n']);
    assert.equal(tooLong.length, 1);
    assert.ok(tooLong[0] > 100);
  });

  it('takes a line exactly at the cap (8 KiB of tags plus 512 bytes) and drops one byte more', () => {
    const { r, lines, tooLong } = collect();
    const at = `@${'t'.repeat(MAX_LINE_BYTES - 3)}\r\n`;
    r.push(Buffer.from(at));
    r.push(Buffer.from(`x${at}`));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].length, MAX_LINE_BYTES);
    assert.equal(tooLong.length, 1);
  });
});

describe('irc: malformed server lines', () => {
  it('names lines too short to handle, and passes well-formed ones', () => {
    for (const [command, params, nick] of [
      ['PRIVMSG', [], 'x'],
      ['NOTICE', [], 'x'],
      ['PRIVMSG', ['#c'], 'x'],
      ['KICK', ['#c'], 'x'],
      ['JOIN', [''], 'x'],
      ['JOIN', ['#c'], undefined],
      ['NICK', ['new'], ''],
      ['353', ['me', '='], undefined],
      ['311', ['me'], undefined],
      ['', [], undefined],
    ] as Array<[string, string[], string | undefined]>) {
      assert.ok(malformedReason(command, params, nick), `${command} ${JSON.stringify(params)} from ${nick}`);
    }
    for (const [command, params, nick] of [
      ['PRIVMSG', ['#c', 'hi'], 'x'],
      ['NOTICE', ['#c', ''], undefined],
      ['TOPIC', ['#c', ''], 'x'],
      ['QUIT', [], 'x'],
      ['JOIN', ['#c'], 'x'],
      ['353', ['me', '=', '#c', 'a b'], undefined],
      ['PING', ['tok'], undefined],
      ['FOO', [], undefined],
    ] as Array<[string, string[], string | undefined]>) {
      assert.equal(malformedReason(command, params, nick), undefined, `${command} ${JSON.stringify(params)}`);
    }
  });
});

describe('irc: !cmd JOIN and PART', () => {
  it('take only channel names the bridge can address', () => {
    for (const input of [
      'JOIN #a:b',
      'JOIN #ok,#a:b',
      'JOIN #ctl\x07x',
      'JOIN :#a:b',
      'JOIN 0',
      'JOIN',
      'PART #a:b',
      'PART #ok,#x\x02y :bye',
      'JOIN &local',
    ]) {
      const r = parseRawCommand(input, undefined, { chanTypes: '#' });
      assert.equal(r.ok, false, input);
    }
    for (const input of ['JOIN #ok', 'JOIN #a,#b key1,key2', 'PART #ok :bye now', 'PRIVMSG #a:b :not a join']) {
      assert.equal(parseRawCommand(input, undefined, { chanTypes: '#' }).ok, true, input);
    }
    const r = parseRawCommand('JOIN #a:b');
    assert.ok(!r.ok && /"#a:b" is not a valid channel name/.test(r.reason));
  });
});
