/**
 * An ajv error as a reader-facing issue: the JSON path it is about (`$.drugs[3].packages[0]`) and a
 * plain message, naming the offending property for `additionalProperties` / `required` errors and
 * the allowed values for `enum` ones. Shared by every data file Dripline validates at load (coding
 * tables, chargemaster).
 */
import type { ErrorObject } from 'ajv';

export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/** A JSON pointer (`/drugs/3/packages/0`) as a JSON path (`$.drugs[3].packages[0]`). */
export function toJsonPath(pointer: string): string {
  let out = '$';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `.${seg}` : `['${seg}']`;
  }
  return out;
}

export function describeSchemaError(e: ErrorObject): SchemaIssue {
  let path = toJsonPath(e.instancePath);
  let message = e.message ?? 'is invalid';
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    path += `.${params['additionalProperty']}`;
    message = 'is not an allowed property';
  } else if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
    path += `.${params['missingProperty']}`;
    message = 'is required';
  } else if (e.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
    message = `must be one of ${params['allowedValues'].map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { path, message };
}
