import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { utf8WithFallback } from '../../src/irc/encoding-fallback';

/** What the spec calls on irc-framework's iconv-lite (a dependency of irc-framework, not of ours). */
interface IconvLite {
  decode(buf: Buffer, encoding: string): string;
  encode(text: string, encoding: string): Buffer;
}

describe('irc-bridge: encoding_fallback decoding', () => {
  it('decodes a line as UTF-8 when it is valid, else in the fallback encoding; encodes UTF-8', () => {
    const name = utf8WithFallback('windows-1252');
    // The iconv-lite irc-framework loads (what the codec is registered on); require() types it as any.
    const iconv = createRequire(require.resolve('irc-framework'))('iconv-lite') as IconvLite;
    assert.equal(iconv.decode(Buffer.from('café ☕', 'utf8'), name), 'café ☕');
    assert.equal(iconv.decode(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80]), name), 'café €');
    assert.deepEqual(iconv.encode('café', name), Buffer.from('café', 'utf8'));
    assert.throws(() => utf8WithFallback('no-such-charset'), /unknown encoding/);
  });
});
