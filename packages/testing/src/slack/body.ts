// Request bodies as Slack accepts them: application/x-www-form-urlencoded (the SDK default;
// arrays and objects arrive as JSON strings), application/json, and multipart/form-data (what
// the SDK sends once a Buffer is among the arguments, and for upload URLs). Query-string
// arguments are merged in, body winning. Parsing never throws for a merely odd body: it answers
// the Slack error (`invalid_json`, `invalid_form_data`) through SlackApiError.
import type { IncomingMessage } from 'node:http';
import { SlackApiError } from './errors';

export interface UploadedPart {
  field: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

type BodyKind = 'empty' | 'form' | 'json' | 'multipart' | 'raw';

export interface ParsedBody {
  kind: BodyKind;
  fields: Record<string, unknown>;
  /** Multipart parts that carried a filename (binary arguments). */
  files: UploadedPart[];
  /** A JSON body sent without `charset=utf-8` (Slack answers with a `missing_charset` warning). */
  missingCharset: boolean;
  raw: Buffer;
}

export class BodyTooLarge extends Error {}

export async function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyTooLarge(`body over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function parseBody(contentType: string | undefined, raw: Buffer, query?: URLSearchParams): ParsedBody {
  const fields: Record<string, unknown> = {};
  if (query) for (const [k, v] of query) fields[k] = v;
  const result: ParsedBody = { kind: 'empty', fields, files: [], missingCharset: false, raw };
  if (raw.length === 0) return result;
  const { type, params } = parseContentType(contentType ?? '');
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SlackApiError('invalid_json');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SlackApiError('json_not_object');
    Object.assign(fields, value);
    result.kind = 'json';
    result.missingCharset = !/^utf-?8$/i.test(params.charset ?? '');
    return result;
  }
  if (type === 'multipart/form-data') {
    const boundary = params.boundary;
    if (!boundary) throw new SlackApiError('invalid_form_data');
    for (const part of parseMultipart(raw, boundary)) {
      if (part.filename !== undefined) result.files.push(part);
      else fields[part.field] = part.data.toString('utf8');
    }
    result.kind = 'multipart';
    return result;
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) fields[k] = v;
    result.kind = 'form';
    return result;
  }
  result.kind = 'raw';
  return result;
}

function parseContentType(header: string): { type: string; params: Record<string, string> } {
  const [type, ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    params[key] = value;
  }
  return { type: type.trim().toLowerCase(), params };
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** RFC 7578 multipart/form-data over the raw bytes (parts may be binary). */
function parseMultipart(raw: Buffer, boundary: string): UploadedPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: UploadedPart[] = [];
  let pos = raw.indexOf(delimiter);
  if (pos < 0) throw new SlackApiError('invalid_form_data');
  pos += delimiter.length;
  for (;;) {
    if (raw[pos] === 0x2d && raw[pos + 1] === 0x2d) return parts; // closing "--"
    if (!raw.subarray(pos, pos + 2).equals(CRLF)) throw new SlackApiError('invalid_form_data');
    pos += 2;
    const headerEnd = raw.indexOf(HEADER_END, pos);
    if (headerEnd < 0) throw new SlackApiError('invalid_form_data');
    const headers = parsePartHeaders(raw.subarray(pos, headerEnd).toString('utf8'));
    const dataStart = headerEnd + HEADER_END.length;
    const dataEnd = raw.indexOf(nextDelimiter, dataStart);
    if (dataEnd < 0) throw new SlackApiError('invalid_form_data');
    const disposition = parseContentType(headers['content-disposition'] ?? '');
    if (disposition.type !== 'form-data' || disposition.params.name === undefined) throw new SlackApiError('invalid_form_data');
    parts.push({
      field: disposition.params.name,
      filename: disposition.params.filename,
      contentType: headers['content-type'],
      data: raw.subarray(dataStart, dataEnd),
    });
    pos = dataEnd + nextDelimiter.length;
  }
}

function parsePartHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
