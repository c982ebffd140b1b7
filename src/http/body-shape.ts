/**
 * The shape of a JSON request body, checked before any handler reads it (./json-body.ts), so no
 * handler is surprised by `null`, an array or a number where it expects an object. Dripline's
 * `/api` routes take JSON objects; the FHIR routes pass the R4 shape check of
 * src/fhir/body-shape.ts instead.
 */

export interface ShapeProblem {
  readonly message: string;
  /** Where, as a FHIRPath-like path (`Parameters.parameter[0].resource`). */
  readonly expression: string;
}

/** A body's shape check: the first problem, or undefined. */
export type ShapeCheck = (body: unknown) => ShapeProblem | undefined;

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a JSON value is, for messages ("null", "an array", "a number"). */
export function describeJson(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Dripline's other JSON APIs take objects: the problem with a body that is not one, or undefined. */
export function objectBodyShapeProblem(body: unknown): ShapeProblem | undefined {
  return isJsonObject(body)
    ? undefined
    : { expression: '', message: `Body must be a JSON object, not ${describeJson(body)}` };
}
