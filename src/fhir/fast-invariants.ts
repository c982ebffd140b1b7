/**
 * Invariants read in JavaScript for the fast conformance check (./fast-conformance.ts): the R4
 * invariants every Claim meets on the way, answered without the FHIRPath engine when the answer is
 * certain. Each returns true only when the invariant certainly holds; undefined sends the value to
 * @medplum/core's FHIRPath evaluation.
 */
import { tryGetDataType } from '@medplum/core';

/** True when the invariant certainly holds for the value; undefined: evaluate the FHIRPath. */
export type NativeInvariant = (value: unknown) => true | undefined;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when every resource the value contains (none, or an array of objects) passes `test`. */
function everyContained(v: unknown, test: (contained: Json) => boolean): true | undefined {
  if (!isObject(v)) {
    return undefined;
  }
  const contained = v['contained'];
  if (contained === undefined) {
    return true;
  }
  return Array.isArray(contained) && contained.every((c) => isObject(c) && test(c)) ? true : undefined;
}

/** A contained resource's meta lacks every named element (no meta at all, or an object without them). */
const metaLacks =
  (...names: string[]) =>
  (c: Json): boolean => {
    const meta = c['meta'];
    return meta === undefined || (isObject(meta) && names.every((n) => meta[n] === undefined));
  };

/**
 * The invariants every Claim meets on the way (R4 Extension ext-1, DomainResource dom-2/4/5 on a
 * contained resource, Organization org-2/3 on telecom and address), read in JavaScript for the cases
 * whose answer is certain; anything else goes to the FHIRPath engine. Keyed by the exact
 * expression, so a changed definition falls back to FHIRPath. test/fhir/fast-conformance.test.ts
 * checks each against @medplum/core's FHIRPath evaluation.
 */
export const NATIVE_INVARIANTS: Readonly<Record<string, NativeInvariant>> = {
  // ext-1: "Must have either extensions or value[x], not both".
  'extension.exists() != value.exists()': (v) => {
    const hasExtension = extensionsPresent(v);
    const hasValue = extensionValuePresent(v);
    return hasExtension !== undefined && hasValue !== undefined && hasExtension !== hasValue
      ? true
      : undefined;
  },
  // dom-2, dom-4, dom-5: contained resources contain nothing and carry no version, time or labels.
  'contained.contained.empty()': (v) => everyContained(v, (c) => c['contained'] === undefined),
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': (v) =>
    everyContained(v, metaLacks('versionId', 'lastUpdated')),
  'contained.meta.security.empty()': (v) => everyContained(v, metaLacks('security')),
  // org-2, org-3: an organization's telecom or address is not a home one.
  "where(use = 'home').empty()": (v) => {
    const use = typeof v === 'object' && v !== null ? (v as { use?: unknown }).use : null;
    return use === undefined || (typeof use === 'string' && use !== 'home') ? true : undefined;
  },
};

/** Whether an Extension has extensions: certain answers only. */
function extensionsPresent(v: unknown): boolean | undefined {
  const extension = typeof v === 'object' && v !== null ? (v as { extension?: unknown }).extension : null;
  if (extension === undefined) {
    return false;
  }
  return Array.isArray(extension) &&
    extension.length > 0 &&
    extension.every((e: unknown) => isObject(e) && Object.keys(e).length > 0)
    ? true
    : undefined;
}

let extensionValueNames: ReadonlySet<string> | undefined;

/** Whether an Extension has a value[x]: certain answers only (one plain, non-empty value). */
function extensionValuePresent(v: unknown): boolean | undefined {
  if (typeof v !== 'object' || v === null) {
    return undefined;
  }
  extensionValueNames ??= new Set(
    (tryGetDataType('Extension')?.elements['value[x]']?.type ?? []).map(
      (t) => `value${t.code.charAt(0).toUpperCase()}${t.code.slice(1)}`,
    ),
  );
  let found = false;
  for (const key of Object.keys(v)) {
    if (key.startsWith('value') || key.startsWith('_value')) {
      const value = (v as Record<string, unknown>)[key];
      if (found || !extensionValueNames.has(key) || isEmptyValue(value)) {
        return undefined;
      }
      found = true;
    }
  }
  return found;
}

/** @medplum/core's isEmpty: undefined, null, '', [] and {} count as absent. */
export function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null) {
    return true;
  }
  if (typeof v === 'string') {
    return v === '';
  }
  if (typeof v === 'object') {
    return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
  }
  return false;
}
