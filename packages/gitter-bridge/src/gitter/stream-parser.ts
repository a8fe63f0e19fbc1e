// Turns the bytes of a Gitter stream into records. The stream is one JSON record per line, but
// the line breaks are `\n` on some servers and `\r` on others, keep-alives are whitespace-only
// lines (" \n", "\r\n"), a record can arrive split over several chunks (even inside a UTF-8
// character) and one chunk can carry several records. A record is a bare Message, or (delete
// extension, Faye shape) `{operation, model}`. A malformed or oversized record is reported and
// skipped; it never stops the stream.
import { StringDecoder } from 'node:string_decoder';
import type { GitterMessage } from './types';

export type StreamItem =
  | { kind: 'message'; message: GitterMessage }
  | { kind: 'remove'; id: string }
  /** A wrapped record with another operation (e.g. "patch"), passed on for the caller to ignore or use. */
  | { kind: 'operation'; operation: string; model: unknown };

export interface StreamParserOptions {
  /** Longest record accepted, in characters (default 1 MiB). */
  maxRecordLength?: number;
  onInvalid?: (reason: string, record: string) => void;
}

export class StreamParser {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  /** Inside a record that was too long: drop text up to the next separator. */
  private skipping = false;
  private readonly max: number;

  constructor(private readonly opts: StreamParserOptions = {}) {
    this.max = opts.maxRecordLength ?? 1024 * 1024;
  }

  push(chunk: Uint8Array | string): StreamItem[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const out: StreamItem[] = [];
    for (;;) {
      const at = this.buf.search(/[\r\n]/);
      if (at === -1) break;
      const record = this.buf.slice(0, at);
      this.buf = this.buf.slice(at + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      this.parse(record, out);
    }
    if (this.buf.length > this.max) {
      this.opts.onInvalid?.('record too long', this.buf.slice(0, 200));
      this.buf = '';
      this.skipping = true;
    }
    return out;
  }

  /** The stream ended: a last record without a line break still counts. */
  end(): StreamItem[] {
    const rest = this.buf + this.decoder.end();
    this.buf = '';
    const out: StreamItem[] = [];
    if (!this.skipping) this.parse(rest, out);
    this.skipping = false;
    return out;
  }

  private parse(record: string, out: StreamItem[]): void {
    if (record.trim() === '') return; // keep-alive, or the \n of a \r\n
    let value: unknown;
    try {
      value = JSON.parse(record);
    } catch {
      this.opts.onInvalid?.('not JSON', record.slice(0, 200));
      return;
    }
    const item = classify(value);
    if (item) out.push(item);
    else this.opts.onInvalid?.('not a Gitter message or operation', record.slice(0, 200));
  }
}

/** A record as the bridge should see it, or undefined when it is neither kind. */
export function classify(value: unknown): StreamItem | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.operation === 'string') {
    const model = v.model as Record<string, unknown> | undefined;
    if (v.operation === 'remove') {
      return model && typeof model.id === 'string' && model.id ? { kind: 'remove', id: model.id } : undefined;
    }
    if ((v.operation === 'create' || v.operation === 'update') && isMessage(model)) return { kind: 'message', message: model };
    return { kind: 'operation', operation: v.operation, model: v.model };
  }
  return isMessage(v) ? { kind: 'message', message: v } : undefined;
}

export function isMessage(v: unknown): v is GitterMessage {
  if (!v || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  const from = m.fromUser as Record<string, unknown> | undefined;
  return (
    typeof m.id === 'string' &&
    m.id !== '' &&
    typeof m.text === 'string' &&
    typeof m.sent === 'string' &&
    !!from &&
    typeof from.id === 'string'
  );
}
