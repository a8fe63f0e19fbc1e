import { strict as assert } from 'node:assert';
import { parseBody } from '../../src/slack/body';
import { SlackApiError } from '../../src/slack/errors';

describe('slack emulator: request bodies', () => {
  it('reads multipart parts byte for byte, binary included, with text fields as arguments', async () => {
    const bytes = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]);
    const form = new FormData();
    form.append('channel', 'C1');
    form.append('file', new Blob([bytes]), 'x.bin');
    const req = new Request('http://x/', { method: 'POST', body: form });
    const raw = Buffer.from(await req.arrayBuffer());
    const parsed = parseBody(req.headers.get('content-type') ?? '', raw);
    assert.equal(parsed.kind, 'multipart');
    assert.deepEqual(parsed.fields, { channel: 'C1' });
    assert.equal(parsed.files[0].filename, 'x.bin');
    assert.deepEqual(parsed.files[0].data, bytes);
  });

  it('answers invalid_json and invalid_form_data for malformed bodies, never a crash', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as SlackApiError).code;
      }
      return 'parsed';
    };
    assert.equal(
      code(() => parseBody('application/json', Buffer.from('{nope'))),
      'invalid_json',
    );
    assert.equal(
      code(() => parseBody('application/json', Buffer.from('[1]'))),
      'json_not_object',
    );
    assert.equal(
      code(() => parseBody('multipart/form-data; boundary=b', Buffer.from('--b\r\nno headers end'))),
      'invalid_form_data',
    );
    assert.equal(
      code(() => parseBody('multipart/form-data', Buffer.from('x'))),
      'invalid_form_data',
    );
    assert.deepEqual(parseBody(undefined, Buffer.from('a=1&b=%E2%9C%93')).fields, { a: '1', b: '✓' });
  });
});
