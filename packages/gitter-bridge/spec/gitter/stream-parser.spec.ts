import { strict as assert } from 'node:assert';
import { StreamParser, type StreamItem } from '../../src/gitter/stream-parser';

const msg = (id: string, text: string, v = 1) => ({
  id,
  text,
  sent: '2024-01-01T00:00:00.000Z',
  fromUser: { id: 'u1', username: 'alice' },
  v,
});

function parseAll(chunks: (string | Buffer)[], onInvalid?: (why: string) => void): StreamItem[] {
  const p = new StreamParser(onInvalid ? { onInvalid } : {});
  const out: StreamItem[] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

describe('gitter-bridge: stream parser', () => {
  const a = msg('a1', 'héllo 🎉 "quoted"');
  const b = msg('b2', 'second\nline', 2);
  const wire = Buffer.from(`${JSON.stringify(a)}\n \n${JSON.stringify(b)}\r\n`, 'utf8');
  const expected = [
    { kind: 'message', message: a },
    { kind: 'message', message: b },
  ];

  it('yields the same records however the bytes are cut into chunks, even inside a UTF-8 character', () => {
    for (let i = 1; i < wire.length; i++) {
      assert.deepEqual(parseAll([wire.subarray(0, i), wire.subarray(i)]), expected, `cut at byte ${i}`);
    }
    // Byte by byte.
    assert.deepEqual(parseAll([...wire].map((x) => Buffer.from([x]))), expected);
  });

  it('splits on \\n, \\r or \\r\\n and skips whitespace keep-alives', () => {
    const text = ['\r\n', ' \n', JSON.stringify(a), '\r', '\n', '   \r\n', JSON.stringify(b), '\n', ' \n'].join('');
    assert.deepEqual(parseAll([text]), expected);
    assert.deepEqual(parseAll([JSON.stringify(a) + '\r' + JSON.stringify(b) + '\r']), expected, 'old servers: \\r only');
    assert.deepEqual(parseAll([' \n', ' \n', '\r\n']), [], 'keep-alives alone are nothing');
  });

  it('a last record without a line break counts when the stream ends', () => {
    const p = new StreamParser();
    assert.deepEqual(p.push(JSON.stringify(a)), []);
    assert.deepEqual(p.end(), [{ kind: 'message', message: a }]);
  });

  it('tells wrapped {operation, model} records from bare messages', () => {
    const items = parseAll([
      `${JSON.stringify({ operation: 'remove', model: { id: 'a1' } })}\n`,
      `${JSON.stringify({ operation: 'update', model: b })}\n`,
      `${JSON.stringify({ operation: 'patch', model: { id: 'a1', unread: false } })}\n`,
      `${JSON.stringify(a)}\n`,
    ]);
    assert.deepEqual(items, [
      { kind: 'remove', id: 'a1' },
      { kind: 'message', message: b },
      { kind: 'operation', operation: 'patch', model: { id: 'a1', unread: false } },
      { kind: 'message', message: a },
    ]);
  });

  it('reports and skips malformed or oversized records and keeps going', () => {
    const bad: string[] = [];
    const items = parseAll(
      [
        '{"id": "x", tru',
        'ncated\n',
        '[1,2]\n',
        '{"operation":"remove","model":{}}\n',
        '{"id":"no-user","text":"t","sent":"s"}\n',
        `${JSON.stringify(a)}\n`,
      ],
      (why) => bad.push(why),
    );
    assert.deepEqual(items, [{ kind: 'message', message: a }]);
    assert.equal(bad.length, 4);

    const p = new StreamParser({ maxRecordLength: 100, onInvalid: (why) => bad.push(why) });
    assert.deepEqual(p.push('{"text":"' + 'x'.repeat(150)), []);
    assert.deepEqual(p.push('still the long record"}\n' + JSON.stringify(b) + '\n'), [{ kind: 'message', message: b }]);
    assert.equal(bad.at(-1), 'record too long');
  });
});
