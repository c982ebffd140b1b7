/**
 * A fast conformance check, compiled once per parsed schema, in front of @medplum/core's validator.
 *
 * Why: @medplum/core's `validateTypedValue` walks a resource with a generic crawler (typed wrappers,
 * paths, element lookups by name, a FHIRPath evaluation per invariant) at ~0.5–1 ms per Claim and
 * pass; the scrubber makes two passes (R4, then the dripline-claim profile) on every claim.
 *
 * What: the same parsed schema (@medplum/core's InternalTypeSchema: the base R4 types, or a profile
 * compiled once by `compiledProfileType`) is compiled here into one checker per type, and a resource
 * is asked one question: would @medplum/core's validator raise no error for it? `true` is a promise
 * that it would not; `false` means "not sure": an error, or something this checker leaves to the full
 * validator (slicing, primitive extensions `_x`, base64Binary, null values, unknown types). On
 * `false` the caller runs @medplum/core's validator, which decides and names the problem, so every
 * finding is still @medplum/core's own; only conforming resources take the fast path.
 *
 * Checked here as @medplum/core 5.2.13 checks them (src/typeschema/validation.ts, crawler.ts;
 * FHIR R4 §2.6 JSON representation, §2.24 data types): every element's cardinality (min, max,
 * array or single), fixed and pattern values, the type of each value (JSON type, then the primitive
 * type's format: the R4 regular expressions, calendar dates, integer ranges, non-blank strings),
 * choice types ([x]: the first type present, as @medplum/core picks it), properties the type does
 * not define, empty objects, contained resources as their own type, and every error-severity
 * invariant @medplum/core evaluates (parsed once; evaluated with @medplum/core's FHIRPath engine,
 * with the same %context, %resource and %rootResource).
 */
import {
  deepEquals,
  deepIncludes,
  evalFhirPathTyped,
  fhirTypeToJsType,
  getDataType,
  isResource,
  isResourceType,
  isValidCalendarDate,
  parseFhirPath,
  toTypedValue,
  tryGetDataType,
  UCUM,
  validationRegexes,
} from '@medplum/core';
import type { FhirPathAtom, InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { isEmptyValue, NATIVE_INVARIANTS } from './fast-invariants.ts';
import type { NativeInvariant } from './fast-invariants.ts';

/** Invariants @medplum/core does not evaluate (validation.ts `skippedConstraintKeys`). */
const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);
/** R4 integer range (datatypes.html#integer). */
const INTEGER_MIN = -2_147_483_648;
const INTEGER_MAX = 2_147_483_647;
/** R4 strings are at most 1 MB (datatypes.html#string). */
const STRING_MAX = 1024 * 1024;
const JS_TYPES: Readonly<Record<string, string>> = fhirTypeToJsType;

interface CompiledConstraint {
  readonly key: string;
  readonly expression: string;
  /** Parsed once; undefined when the expression does not parse (then never "sure"). */
  readonly atom: FhirPathAtom | undefined;
  /** A JavaScript reading of the expression for the common cases (see NATIVE_INVARIANTS), if there is one. */
  readonly native: NativeInvariant | undefined;
}

/** One element of a type: where its value is in the JSON and what it must satisfy. */
interface CompiledProperty {
  /** The schema's element key, e.g. `status` or `serviced[x]`. */
  readonly key: string;
  readonly choice: boolean;
  readonly element: InternalSchemaElement;
  readonly isArray: boolean;
  readonly required: boolean;
  readonly constraints: readonly CompiledConstraint[];
}

/** A JSON property name a type allows: its element, and the type of its values. */
interface JsonProperty {
  readonly property: CompiledProperty;
  readonly type: string;
}

interface CompiledType {
  readonly schema: InternalTypeSchema;
  /** False when the schema uses something this checker leaves to the full validator. */
  readonly supported: boolean;
  /** Every JSON property name the type allows (choice elements under each of their names). */
  readonly byJsonKey: ReadonlyMap<string, JsonProperty>;
  /** How many elements have min > 0. */
  readonly requiredCount: number;
  /** The keys of the elements with min > 0. */
  readonly requiredKeys: ReadonlySet<string>;
  /** Compiled types of the values inside, by type name (resolved on first use). */
  readonly children: Map<string, CompiledType | undefined>;
  /** The type's own invariants, checked on the root value only (as @medplum/core does). */
  readonly rootConstraints: readonly CompiledConstraint[];
}

const compiled = new WeakMap<InternalTypeSchema, Map<string, CompiledType>>();

/**
 * True when @medplum/core's `validateTypedValue({ type: typeName, value })` would raise no error;
 * false when not sure (then run it). `typeName` is a name in @medplum/core's type table: a resource
 * type for base R4 validation, or a compiled profile's type name.
 */
export function conformsFast(value: Resource, typeName: string): boolean {
  const schema = tryGetDataType(typeName);
  if (!schema || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const root = compileType(typeName, schema);
  const walk = new Walk({ type: typeName, value });
  return walk.root(value as unknown as Record<string, unknown>, root);
}

/**
 * True when every value the fast check accepts as `typeName` (a profile's compiled type) it also
 * accepts as `baseTypeName` (the base resource type), so a resource that passed the profile needs no
 * separate base R4 pass: each element the profile allows is one the base allows, with the same
 * value type, array-ness and choice, cardinality within the base's, the base's fixed values,
 * patterns and invariants among the profile's, the base's required elements required, and the same
 * holding for the types inside. Decided once per pair of types.
 */
export function fastCovers(typeName: string, baseTypeName: string): boolean {
  const profile = tryGetDataType(typeName);
  const base = tryGetDataType(baseTypeName);
  if (!profile || !base) {
    return false;
  }
  let byBase = coverage.get(profile);
  if (!byBase) {
    byBase = new Map();
    coverage.set(profile, byBase);
  }
  let result = byBase.get(baseTypeName);
  if (result === undefined) {
    const p = compileType(typeName, profile);
    const b = compileType(baseTypeName, base);
    result =
      b.rootConstraints.every((c) => p.rootConstraints.some((d) => sameConstraint(c, d))) &&
      typeCovers(p, b, []);
    byBase.set(baseTypeName, result);
  }
  return result;
}

const coverage = new WeakMap<InternalTypeSchema, Map<string, boolean>>();

function typeCovers(p: CompiledType, b: CompiledType, inProgress: [CompiledType, CompiledType][]): boolean {
  if (p === b) {
    return b.supported;
  }
  if (inProgress.some(([x, y]) => x === p && y === b)) {
    // A type inside itself: covered if everything else is.
    return true;
  }
  inProgress.push([p, b]);
  const result = b.supported && propertiesCover(p, b, inProgress);
  inProgress.pop();
  return result;
}

function propertiesCover(
  p: CompiledType,
  b: CompiledType,
  inProgress: [CompiledType, CompiledType][],
): boolean {
  if (![...b.requiredKeys].every((key) => p.requiredKeys.has(key))) {
    return false;
  }
  for (const [jsonKey, pe] of p.byJsonKey) {
    const be = b.byJsonKey.get(jsonKey);
    if (!be || be.type !== pe.type) {
      return false;
    }
    const pp = pe.property;
    const bp = be.property;
    if (
      pp.key !== bp.key ||
      pp.choice !== bp.choice ||
      pp.isArray !== bp.isArray ||
      pp.element.min < bp.element.min ||
      pp.element.max > bp.element.max ||
      bp.element.slicing !== undefined ||
      (bp.element.fixed !== undefined && !deepEquals(bp.element.fixed, pp.element.fixed)) ||
      (bp.element.pattern !== undefined && !deepEquals(bp.element.pattern, pp.element.pattern)) ||
      !bp.constraints.every((c) => pp.constraints.some((d) => sameConstraint(c, d)))
    ) {
      return false;
    }
    if (isPrimitive(pe.type)) {
      continue;
    }
    if (pe.type === 'Resource') {
      // A contained resource is walked as its own resourceType: the same type on both sides unless
      // a schema has an inner type of that name.
      if ([...p.schema.innerTypes, ...b.schema.innerTypes].some((t) => isResourceType(t.name))) {
        return false;
      }
      continue;
    }
    const pc = childType(p, pe.type);
    const bc = childType(b, be.type);
    if (!pc || !bc || !typeCovers(pc, bc, inProgress)) {
      return false;
    }
  }
  return true;
}

function sameConstraint(a: CompiledConstraint, b: CompiledConstraint): boolean {
  return a.key === b.key && a.expression === b.expression;
}

function compileType(typeName: string, schema: InternalTypeSchema): CompiledType {
  let byName = compiled.get(schema);
  if (!byName) {
    byName = new Map();
    compiled.set(schema, byName);
  }
  let type = byName.get(typeName);
  if (!type) {
    type = buildType(typeName, schema);
    byName.set(typeName, type);
  }
  return type;
}

function buildType(typeName: string, schema: InternalTypeSchema): CompiledType {
  // @medplum/core reads a property's value by the element of the value's type in its global table
  // (getTypedPropertyValue), and checks it against the element of the schema being walked.
  const lookup = tryGetDataType(typeName)?.elements;
  const byJsonKey = new Map<string, JsonProperty>();
  let supported = lookup !== undefined;
  const requiredKeys = new Set<string>();
  for (const [key, element] of Object.entries(schema.elements)) {
    const read = lookup?.[key] ?? lookup?.[`${key}[x]`];
    const choice = key.endsWith('[x]');
    if (!read || key.includes('.') || choice !== read.path.endsWith('[x]')) {
      supported = false;
      continue;
    }
    const segment = read.path.slice(read.path.lastIndexOf('.') + 1);
    const base = choice ? segment.slice(0, -3) : segment;
    const first = read.type[0]?.code;
    const property: CompiledProperty = {
      key,
      choice,
      element,
      isArray: element.isArray === true,
      required: element.min > 0,
      constraints: errorConstraints(element.constraints),
    };
    if (property.required) {
      requiredKeys.add(key);
    }
    for (const t of read.type) {
      const jsonKey = choice ? base + t.code.charAt(0).toUpperCase() + t.code.slice(1) : base;
      const type = t.code === 'Element' || t.code === 'BackboneElement' ? (first ?? t.code) : t.code;
      if (!choice && (jsonKey !== key || read.type.length !== 1)) {
        supported = false;
      }
      // @medplum/core accepts `valueQuantity` when the first capitalised prefix naming a choice
      // element (`value[x]`) has a value; only names that resolve to this element are taken here.
      if (choice && choiceElementOf(jsonKey, schema.elements, lookup) !== key) {
        continue;
      }
      if (byJsonKey.has(jsonKey)) {
        supported = false;
      }
      byJsonKey.set(jsonKey, { property, type });
    }
  }
  const rootConstraints = errorConstraints(schema.constraints);
  return {
    schema,
    supported,
    byJsonKey,
    requiredCount: requiredKeys.size,
    requiredKeys,
    children: new Map(),
    rootConstraints,
  };
}

function choiceElementOf(
  jsonKey: string,
  elements: Record<string, InternalSchemaElement>,
  lookup: Record<string, InternalSchemaElement> | undefined,
): string | undefined {
  let prefix = '';
  for (const part of jsonKey.split(/(?=[A-Z])/g)) {
    prefix += part;
    if (elements[`${prefix}[x]`]) {
      return lookup?.[prefix] ? undefined : `${prefix}[x]`;
    }
  }
  return undefined;
}

function errorConstraints(constraints: InternalSchemaElement['constraints']): CompiledConstraint[] {
  return (constraints ?? [])
    .filter((c) => c.severity === 'error' && !SKIPPED_CONSTRAINTS.has(c.key))
    .map(compileConstraint);
}

function compileConstraint(c: { key: string; expression: string }): CompiledConstraint {
  let atom: FhirPathAtom | undefined;
  try {
    atom = parseFhirPath(c.expression);
  } catch {
    atom = undefined;
  }
  return { key: c.key, expression: c.expression, atom, native: NATIVE_INVARIANTS[c.expression] };
}

function childType(parent: CompiledType, typeName: string): CompiledType | undefined {
  if (parent.children.has(typeName)) {
    return parent.children.get(typeName);
  }
  // As @medplum/core's crawler: the walked schema's inner type of that name, else the global type.
  let schema = parent.schema.innerTypes.find((t) => t.name === typeName);
  if (!schema) {
    try {
      schema = getDataType(typeName);
    } catch {
      schema = undefined;
    }
  }
  const child = schema ? compileType(typeName, schema) : undefined;
  parent.children.set(typeName, child);
  return child;
}

function isPrimitive(type: string): boolean {
  return type === 'undefined' || type in JS_TYPES;
}

function primitiveConforms(value: unknown, type: string): boolean {
  const expected = JS_TYPES[type];
  // Objects here are primitive extensions or mistakes: left to the full validator.
  if (expected === undefined || typeof value !== expected || type === 'base64Binary') {
    return false;
  }
  if (typeof value === 'string') {
    if (value.trim() === '' || value.length > STRING_MAX) {
      return false;
    }
    const pattern = validationRegexes[type];
    if (pattern && !pattern.test(value)) {
      return false;
    }
    return !(type === 'date' || type === 'dateTime' || type === 'instant') || isValidCalendarDate(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return false;
    }
    if (type === 'integer' || type === 'positiveInt' || type === 'unsignedInt') {
      const min = type === 'integer' ? INTEGER_MIN : type === 'positiveInt' ? 1 : 0;
      return Number.isInteger(value) && value >= min && value <= INTEGER_MAX;
    }
  }
  return true;
}

/** One walk over one resource; false as soon as anything is not sure. */
class Walk {
  private readonly resources: Resource[] = [];
  private readonly rootValue: TypedValue;

  constructor(root: TypedValue) {
    this.rootValue = root;
    if (isResource(root.value)) {
      this.resources.push(root.value);
    }
  }

  root(value: Record<string, unknown>, type: CompiledType): boolean {
    const path = type.schema.path;
    for (const c of type.rootConstraints) {
      if (!this.holds(c, { ...this.rootValue, path })) {
        return false;
      }
    }
    return this.object(value, type, path);
  }

  /**
   * An object against its type. Driven by the properties present (a Claim has a few of its ~40
   * elements): each must be an element of the type, and every required element must be present.
   */
  private object(obj: Record<string, unknown>, type: CompiledType, path: string): boolean {
    if (!type.supported) {
      return false;
    }
    const resource = isResource(obj);
    if (resource) {
      this.resources.push(obj);
    }
    let required = 0;
    let choices: Set<CompiledProperty> | undefined;
    for (const key of Object.keys(obj)) {
      if (key === 'resourceType') {
        // Not an element; @medplum/core only asks that it hold no null.
        if (typeof obj[key] !== 'string') {
          return false;
        }
        continue;
      }
      // Unknown names, primitive extensions (`_status`) and choice names that do not resolve: not sure.
      const entry = type.byJsonKey.get(key);
      if (!entry) {
        return false;
      }
      const raw = obj[key];
      if (raw === undefined) {
        continue;
      }
      const { property } = entry;
      if (property.choice) {
        // Two names of one choice element (or an empty one): @medplum/core reads only the first.
        choices ??= new Set();
        if (choices.has(property) || isEmptyValue(raw)) {
          return false;
        }
        choices.add(property);
      } else if (isEmptyValue(raw)) {
        // '', [] and {} read as absent (null is an error, and not sure here).
        if (raw === null) {
          return false;
        }
        continue;
      }
      if (property.required) {
        required++;
      }
      if (!this.property(raw, entry, type, path)) {
        return false;
      }
    }
    if (resource) {
      this.resources.pop();
    }
    return required === type.requiredCount;
  }

  private property(raw: unknown, entry: JsonProperty, type: CompiledType, parentPath: string): boolean {
    const { property, type: valueType } = entry;
    const { element } = property;
    const values: unknown[] = Array.isArray(raw) ? raw : [raw];
    if (
      property.isArray !== Array.isArray(raw) ||
      values.length < element.min ||
      values.length > element.max ||
      element.slicing !== undefined
    ) {
      return false;
    }
    const typeOf = (v: unknown): string =>
      valueType === 'Resource' && isResource(v) ? v.resourceType : valueType;
    if (element.fixed || element.pattern) {
      const typed = Array.isArray(raw)
        ? values.map((v) => ({ type: typeOf(v), value: v }))
        : { type: typeOf(raw), value: raw };
      if (element.pattern && !deepIncludes(typed, element.pattern)) {
        return false;
      }
      if (element.fixed && !deepEquals(typed, element.fixed)) {
        return false;
      }
    }
    const path = `${parentPath}.${property.key}`;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) {
        return false;
      }
      const vType = typeOf(v);
      const vPath = Array.isArray(raw) ? `${path}[${i}]` : path;
      for (const c of property.constraints) {
        if (!this.holds(c, { type: vType, value: v, path: vPath })) {
          return false;
        }
      }
      if (isPrimitive(vType)) {
        if (!primitiveConforms(v, vType)) {
          return false;
        }
        continue;
      }
      if (typeof v !== 'object' || Array.isArray(v) || isEmptyValue(v)) {
        return false;
      }
      const child = childType(type, vType);
      if (!child || !this.object(v as Record<string, unknown>, child, vPath)) {
        return false;
      }
    }
    return true;
  }

  /** An invariant, evaluated as @medplum/core's `isExpressionTrue` does. */
  private holds(c: CompiledConstraint, value: TypedValue & { path: string }): boolean {
    if (c.native?.(value.value) === true) {
      return true;
    }
    if (!c.atom) {
      return false;
    }
    const variables: Record<string, TypedValue> = { '%context': value, '%ucum': toTypedValue(UCUM) };
    const resource = this.resources.at(-1);
    if (resource) {
      variables['%resource'] = toTypedValue(resource);
    }
    if (isResource(this.rootValue.value)) {
      variables['%rootResource'] = this.rootValue;
    }
    try {
      const result = evalFhirPathTyped(c.atom, [value], variables);
      return result.length === 1 && result[0]?.value === true;
    } catch {
      return false;
    }
  }
}
