// Typed access to a method's arguments. The same argument arrives as a string in a form body
// ("true", "[{...}]", "U1,U2") and as a typed value in a JSON body; handlers read it one way.
import type { UploadedPart } from './body';
import { SlackApiError } from './errors';

export class ApiArgs {
  constructor(
    readonly values: Record<string, unknown>,
    readonly files: UploadedPart[] = [],
  ) {}

  has(name: string): boolean {
    const v = this.values[name];
    return v !== undefined && v !== null && v !== '';
  }

  str(name: string): string | undefined {
    const v = this.values[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  }

  /** A required argument: `error` is the code Slack answers when it is absent. */
  need(name: string, error: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw new SlackApiError(error);
    return v;
  }

  bool(name: string, fallback = false): boolean {
    const v = this.values[name];
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    return v === 'true' || v === '1' || v === 1;
  }

  int(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    return Number.isFinite(n) ? Math.trunc(n) : fallback;
  }

  /** JSON-valued argument (a JSON string in forms, a value in JSON bodies); `error` when malformed. */
  json<T>(name: string, error: string): T | undefined {
    const v = this.values[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return v as T;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw new SlackApiError(error);
    }
  }

  /** Comma-separated list, or an array in JSON bodies. */
  list(name: string): string[] {
    const v = this.values[name];
    if (v === undefined || v === null || v === '') return [];
    const items = Array.isArray(v) ? v.map(scalarText) : scalarText(v).split(',');
    return items.map((s) => s.trim()).filter(Boolean);
  }
}

/** One value of a list argument as text; an object (never valid there) as its JSON. */
function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}
