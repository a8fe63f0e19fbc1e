/**
 * Building blocks for a connector's config schema (`BridgeConnector.configSchema`), the same the
 * core's own schema is made of. One TypeBox schema gives validation, the static type and the
 * `config-reference` text; a property with a `default` is optional in the file but always present
 * after loading, so its static type lists it as required.
 */
import { Type, type TObject, type TProperties, type ObjectOptions, type TUnsafe } from '@sinclair/typebox';

/** An object schema with `additionalProperties: false`; properties that carry a default are not required at run time. */
export function section<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  const schema = Type.Object(properties, { additionalProperties: false, ...options });
  const plain = schema as { required?: string[] };
  const required = (plain.required ?? []).filter((k) => properties[k].default === undefined);
  if (required.length) plain.required = required;
  else delete plain.required;
  return schema;
}

/** A string restricted to a fixed set (a plain `enum`, which gives clearer errors than a union of literals). */
export function StringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
