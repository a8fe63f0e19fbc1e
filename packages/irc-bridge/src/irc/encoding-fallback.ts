/**
 * IRC has no declared charset. Most clients send UTF-8, but on older networks some still send
 * Latin-1 or Windows-1252, which a UTF-8 decoder turns into U+FFFD ("caf�"). MAI's
 * `encodingFallback`: a line that is valid UTF-8 is read as UTF-8, any other line in the
 * configured legacy encoding. What the bridge sends stays UTF-8.
 *
 * irc-framework decodes each line with iconv-lite under the name passed as its `encoding` option,
 * so this registers one more codec, under a name of our own, on the very iconv-lite instance
 * irc-framework loads (resolved from irc-framework's own location, not ours).
 */
import { createRequire } from 'node:module';

interface IconvLite {
  encodings?: Record<string, unknown>;
  getCodec(name: string): unknown;
  encodingExists(name: string): boolean;
  decode(buf: Buffer, encoding: string): string;
}

let iconv: IconvLite | undefined;
function iconvOfIrcFramework(): IconvLite {
  iconv ??= createRequire(require.resolve('irc-framework'))('iconv-lite') as IconvLite;
  return iconv;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether iconv-lite knows `name` (for config validation). */
export function isKnownEncoding(name: string): boolean {
  return iconvOfIrcFramework().encodingExists(name);
}

/**
 * The irc-framework `encoding` value that reads UTF-8 and falls back to `fallback` (e.g.
 * `windows-1252`) line by line. Throws on an encoding iconv-lite does not know.
 */
export function utf8WithFallback(fallback: string): string {
  const lib = iconvOfIrcFramework();
  if (!lib.encodingExists(fallback)) throw new Error(`unknown encoding ${JSON.stringify(fallback)}`);
  // iconv-lite canonicalises names to lowercase alphanumerics: the registered key must be one.
  const name = `causewayutf8or${fallback.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
  if (!lib.encodings) lib.getCodec('utf8'); // loads the encodings table
  if (!lib.encodings![name]) {
    class Decoder {
      private readonly parts: Buffer[] = [];
      write(buf: Buffer): string {
        this.parts.push(buf);
        return '';
      }
      end(): string {
        const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
        try {
          return strictUtf8.decode(line);
        } catch {
          return lib.decode(line, fallback);
        }
      }
    }
    class Encoder {
      write(str: string): Buffer {
        return Buffer.from(str, 'utf8');
      }
      end(): undefined {
        return undefined;
      }
    }
    // A codec is a constructor iconv-lite calls with `new`; returning an object makes that the codec.
    lib.encodings![name] = function codec() {
      return { encoder: Encoder, decoder: Decoder };
    };
  }
  return name;
}
