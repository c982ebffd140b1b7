/**
 * The shape of a FHIR request body, checked before any handler reads it (src/http/json-body.ts
 * runs it for the FHIR routes), so no handler can be surprised by `null` where it expects an
 * object, a number where it expects a resource, or a string where it expects an array.
 *
 * FHIR bodies are walked along the base R4 type definitions (@medplum/core's schema of them) and
 * must follow the JSON representation (https://hl7.org/fhir/R4/json.html):
 * - a resource is a JSON object whose `resourceType` names an R4 resource type, wherever one
 *   appears (the body, `contained`, `Bundle.entry.resource`, `Parameters.parameter.resource`);
 * - an element that repeats is an array, one that does not is not;
 * - complex elements are objects, primitives are JSON strings, numbers or booleans as their type
 *   says (§"Primitive elements": integer and decimal as numbers, boolean as true/false);
 * - `null` appears only inside the array of a repeating primitive, to align its values with the
 *   `_name` array of their extensions (§"JSON representation of primitive elements").
 * Properties the definitions do not know are left alone here (full validation reports them).
 *
 * This is not validation (the repository validates what it stores, with profiles): it is the
 * contract every FHIR handler may rely on. Other JSON bodies (the `/api` routes) must be objects
 * (src/http/body-shape.ts).
 */
import { isResourceType, tryGetDataType } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { describeJson, isJsonObject } from '../http/body-shape.ts';
import type { ShapeProblem } from '../http/body-shape.ts';
import { loadFhirDefinitions } from './definitions.ts';

interface PropertyInfo {
  readonly type: string;
  readonly isArray: boolean;
}

const NUMBER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal']);
const properties = new Map<string, ReadonlyMap<string, PropertyInfo>>();

/** Lower-case type codes and FHIRPath system types (`http://hl7.org/fhirpath/System.String`) are primitives. */
function isPrimitive(type: string): boolean {
  return type.startsWith('http://hl7.org/fhirpath/System.') || /^[a-z]/.test(type);
}

/** The JSON property names of a type (choice elements `value[x]` expanded to `valueString`, …). */
function propertiesOf(schema: InternalTypeSchema): ReadonlyMap<string, PropertyInfo> {
  const cached = properties.get(schema.name);
  if (cached) {
    return cached;
  }
  const map = new Map<string, PropertyInfo>();
  for (const [name, element] of Object.entries(schema.elements)) {
    const isArray = element.isArray === true || element.max > 1;
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const { code } of element.type) {
        map.set(base + code.charAt(0).toUpperCase() + code.slice(1), { type: code, isArray });
      }
    } else if (element.type[0]) {
      map.set(name, { type: element.type[0].code, isArray });
    }
  }
  properties.set(schema.name, map);
  return map;
}

function problem(expression: string, message: string): ShapeProblem {
  return { expression, message: `${expression} ${message}` };
}

function checkPrimitive(value: unknown, type: string, path: string): ShapeProblem | undefined {
  const expected = type === 'boolean' ? 'boolean' : NUMBER_TYPES.has(type) ? 'number' : 'string';
  if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
    return problem(path, `must be a JSON ${expected} (FHIR ${type}), not ${describeJson(value)}`);
  }
  return undefined;
}

function checkValue(value: unknown, type: string, path: string): ShapeProblem | undefined {
  if (type === 'Resource' || isResourceType(type)) {
    return checkResource(value, path);
  }
  if (isPrimitive(type)) {
    return checkPrimitive(value, type, path);
  }
  if (!isJsonObject(value)) {
    return problem(path, `must be a JSON object (FHIR ${type}), not ${describeJson(value)}`);
  }
  return checkComplex(value, type, path);
}

/** `_name`: the id and extensions of a primitive element (an object, or an aligned array of them). */
function checkPrimitiveExtension(
  value: unknown,
  info: PropertyInfo,
  path: string,
  values: unknown,
): ShapeProblem | undefined {
  if (!info.isArray) {
    return isJsonObject(value)
      ? checkComplex(value, 'Element', path)
      : problem(path, `must be a JSON object, not ${describeJson(value)}`);
  }
  if (!Array.isArray(value)) {
    return problem(path, `must be an array, not ${describeJson(value)}`);
  }
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item === null) {
      if (!Array.isArray(values)) {
        return problem(`${path}[${i}]`, 'is null without values to align with');
      }
      continue;
    }
    const found = isJsonObject(item)
      ? checkComplex(item, 'Element', `${path}[${i}]`)
      : problem(`${path}[${i}]`, `must be a JSON object or null, not ${describeJson(item)}`);
    if (found) {
      return found;
    }
  }
  return undefined;
}

function checkComplex(obj: Record<string, unknown>, type: string, path: string): ShapeProblem | undefined {
  const schema = tryGetDataType(type);
  if (!schema) {
    return undefined;
  }
  const known = propertiesOf(schema);
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'resourceType' && schema.kind === 'resource') {
      continue;
    }
    const where = `${path}.${key}`;
    if (key.startsWith('_')) {
      const info = known.get(key.slice(1));
      if (info && isPrimitive(info.type)) {
        const found = checkPrimitiveExtension(value, info, where, obj[key.slice(1)]);
        if (found) {
          return found;
        }
      }
      continue;
    }
    const info = known.get(key);
    if (!info) {
      continue;
    }
    if (value === null) {
      return problem(where, 'is null (JSON null is only allowed inside arrays of primitives)');
    }
    if (!info.isArray) {
      const found = Array.isArray(value)
        ? problem(where, 'must be a single value, not an array')
        : checkValue(value, info.type, where);
      if (found) {
        return found;
      }
      continue;
    }
    if (!Array.isArray(value)) {
      return problem(where, `must be an array, not ${describeJson(value)}`);
    }
    const extensions = obj[`_${key}`];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null) {
        if (isPrimitive(info.type) && Array.isArray(extensions)) {
          continue;
        }
        return problem(
          `${where}[${i}]`,
          'is null (JSON null only aligns primitive values with their _extensions)',
        );
      }
      const found = checkValue(item, info.type, `${where}[${i}]`);
      if (found) {
        return found;
      }
    }
  }
  return undefined;
}

function checkResource(value: unknown, path: string): ShapeProblem | undefined {
  if (!isJsonObject(value)) {
    return problem(
      path,
      `must be a FHIR resource (a JSON object with resourceType), not ${describeJson(value)}`,
    );
  }
  const type = value['resourceType'];
  if (typeof type !== 'string' || !isResourceType(type)) {
    return problem(
      path,
      typeof type === 'string'
        ? `has resourceType "${type.slice(0, 64)}", which is not an R4 resource type`
        : 'must be a FHIR resource (a JSON object with resourceType)',
    );
  }
  return checkComplex(value, type, path === '' ? type : path);
}

/** The first place where a FHIR request body does not have the shape R4 gives it, or undefined. */
export function fhirBodyShapeProblem(body: unknown): ShapeProblem | undefined {
  loadFhirDefinitions();
  if (!isJsonObject(body) || typeof body['resourceType'] !== 'string') {
    return {
      expression: '',
      message: `Body must be a FHIR resource (a JSON object with resourceType), not ${describeJson(body)}`,
    };
  }
  return checkResource(body, '');
}
