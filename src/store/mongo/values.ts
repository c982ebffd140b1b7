/** Checks of the values the port hands the MongoDB adapter (resource types, ids, versions, instants). */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

export const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]{0,63}$/;
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
export const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;

export function resourceTypeOf(resource: Resource): string {
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !RESOURCE_TYPE_PATTERN.test(type)) {
    throw new OperationOutcomeError(badRequest('Missing or invalid resourceType'));
  }
  return type;
}

export function assertId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new OperationOutcomeError(badRequest(`Invalid id: ${String(id)}`));
  }
}

export function isoInstant(value: string, what: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new OperationOutcomeError(badRequest(`Invalid ${what}: ${value}`));
  }
  return date;
}
