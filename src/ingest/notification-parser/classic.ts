/**
 * Classic R4 rest-hook notifications [R4-SUB]: the changed resource itself. Medplum POSTs it (and
 * `{}` with X-Medplum-Interaction / X-Medplum-Deleted-Resource headers for a delete); HAPI PUTs
 * it to, or DELETEs, {endpoint}/{Type}/{id}.
 *
 * - [R4-SUB] https://hl7.org/fhir/R4/subscription.html#2.46.7.1
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ClassicNotification } from '../notification.ts';
import type { JsonObject } from './json.ts';
import { fail, header, isBlank, isObject, optional, own, parseJsonObject, show } from './json.ts';
import { FHIR_RESOURCE_TYPES } from './resource-types.ts';
import { FHIR_ID, subscriptionIdFromReference } from './values.ts';

type Interaction = ClassicNotification['interaction'];
type Target = ClassicNotification['target'];
/** A resource body on POST (Medplum; research §1.3). */
export function parseClassicResource(
  json: JsonObject,
  headers: JsonObject,
  subscriptionId: string | undefined,
): ClassicNotification {
  const interaction = interactionHeader(headers);
  const deleted = header(headers, 'x-medplum-deleted-resource');
  if (interaction === 'delete' || (interaction === undefined && deleted !== undefined)) {
    // A delete that (unlike Medplum's `{}`) carries the old resource: the header names the target
    // when present, the body otherwise; the resource itself is not passed on for deletes.
    const target = deleted === undefined ? resourceTarget(json) : deletedResourceTarget(deleted);
    return classic('delete', target, undefined, subscriptionId);
  }
  if (deleted !== undefined) {
    fail(
      'X-Medplum-Deleted-Resource is only valid with X-Medplum-Interaction: delete',
      'X-Medplum-Deleted-Resource',
    );
  }
  const target = resourceTarget(json);
  return classic(interaction ?? defaultInteraction(target.versionId), target, json, subscriptionId);
}

/** Medplum delete: `{}` + X-Medplum-Deleted-Resource: Type/id. */
export function parseMedplumDelete(
  headers: JsonObject,
  subscriptionId: string | undefined,
): ClassicNotification {
  const interaction = interactionHeader(headers);
  const deleted = header(headers, 'x-medplum-deleted-resource');
  if (interaction !== undefined && interaction !== 'delete') {
    fail(
      `X-Medplum-Interaction: ${interaction} needs a resource body, but the body has no resourceType`,
      'resourceType',
    );
  }
  if (deleted === undefined) {
    fail(
      interaction === 'delete'
        ? 'X-Medplum-Interaction: delete needs an X-Medplum-Deleted-Resource: Type/id header'
        : 'Notification body has no resourceType (an object without one is only accepted as a Medplum delete with X-Medplum-Deleted-Resource)',
      interaction === 'delete' ? 'X-Medplum-Deleted-Resource' : 'resourceType',
    );
  }
  return classic('delete', deletedResourceTarget(deleted), undefined, subscriptionId);
}

/** HAPI classic with payload: PUT {endpoint}/{Type}/{id} with the resource (create and update alike). */
export function parsePut(pathTarget: unknown, body: string, headers: JsonObject): ClassicNotification {
  const path = pathTargetOf(pathTarget, 'PUT');
  if (isBlank(body)) {
    fail(`PUT ${path.resourceType}/${path.id} needs the resource as its body`);
  }
  const json = parseJsonObject(body);
  const resourceType = own(json, 'resourceType');
  if (resourceType === 'Bundle') {
    fail('Unsupported notification shape: a Bundle body on PUT', 'resourceType');
  }
  const target = resourceTarget(json);
  if (target.resourceType !== path.resourceType) {
    fail(
      `Body resourceType ${show(target.resourceType)} does not match the path type ${show(path.resourceType)}`,
      'resourceType',
    );
  }
  if (target.id !== path.id) {
    fail(`Body id ${show(target.id)} does not match the path id ${show(path.id)}`, 'id');
  }
  const interaction = interactionHeader(headers);
  if (interaction === 'delete') {
    fail('X-Medplum-Interaction: delete is not valid on PUT', 'X-Medplum-Interaction');
  }
  return classic(
    interaction ?? defaultInteraction(target.versionId),
    target,
    json,
    subscriptionHeader(headers),
  );
}

/** HAPI classic delete: DELETE {endpoint}/{Type}/{id}, no body (any body is ignored). */
export function parseDelete(pathTarget: unknown, headers: JsonObject): ClassicNotification {
  return classic('delete', pathTargetOf(pathTarget, 'DELETE'), undefined, subscriptionHeader(headers));
}

/**
 * Interaction when the sender does not say (no X-Medplum-Interaction; HAPI never says): 'create'
 * when meta.versionId is absent or an integer ≤ 1, 'update' otherwise (integer > 1, or an opaque
 * versionId such as a UUID, where "update" is the safe, upsert-like reading). Handlers must be
 * idempotent upserts either way (research §1.4), so this only matters for logs and metrics.
 */
function defaultInteraction(versionId: string | undefined): Interaction {
  if (versionId === undefined) {
    return 'create';
  }
  return /^\d+$/.test(versionId) && Number(versionId) <= 1 ? 'create' : 'update';
}

function classic(
  interaction: Interaction,
  target: Target,
  resource: JsonObject | undefined,
  subscriptionId: string | undefined,
): ClassicNotification {
  return {
    shape: 'classic',
    interaction,
    ...(resource && interaction !== 'delete' ? { resource: resource as unknown as Resource } : {}),
    target,
    ...(subscriptionId ? { subscriptionId } : {}),
  };
}

/** Type, id and meta.versionId of a classic resource body. */
function resourceTarget(json: JsonObject): Target {
  const resourceType = own(json, 'resourceType');
  if (resourceType === undefined) {
    fail('Resource body has no resourceType', 'resourceType');
  }
  if (typeof resourceType !== 'string' || !FHIR_RESOURCE_TYPES.has(resourceType)) {
    fail(`Resource body resourceType ${show(resourceType)} is not a FHIR resource type`, 'resourceType');
  }
  const id = own(json, 'id');
  if (typeof id !== 'string' || !FHIR_ID.test(id)) {
    fail(
      id === undefined
        ? `${resourceType} body has no id`
        : `${resourceType} body id ${show(id)} is not a valid FHIR id`,
      'id',
    );
  }
  const meta = own(json, 'meta');
  if (meta !== undefined && !isObject(meta)) {
    fail(`${resourceType}.meta must be an object`, 'meta');
  }
  const versionId = meta === undefined ? undefined : own(meta, 'versionId');
  if (versionId !== undefined && (typeof versionId !== 'string' || !FHIR_ID.test(versionId))) {
    fail(`${resourceType}.meta.versionId ${show(versionId)} is not a valid FHIR id`, 'meta.versionId');
  }
  return { resourceType, id, ...optional('versionId', versionId) };
}

function pathTargetOf(pathTarget: unknown, method: 'PUT' | 'DELETE'): Target {
  if (!isObject(pathTarget)) {
    fail(`${method} notification needs a {Type}/{id} path`);
  }
  const resourceType = own(pathTarget, 'resourceType');
  const id = own(pathTarget, 'id');
  if (typeof resourceType !== 'string' || !FHIR_RESOURCE_TYPES.has(resourceType)) {
    fail(`${method} path type ${show(resourceType)} is not a FHIR resource type`);
  }
  if (typeof id !== 'string' || !FHIR_ID.test(id)) {
    fail(`${method} path id ${show(id)} is not a valid FHIR id`);
  }
  return { resourceType, id };
}

/** X-Medplum-Deleted-Resource: `Type/id`. */
function deletedResourceTarget(value: string): Target {
  const [resourceType, id, ...rest] = value.split('/');
  if (
    resourceType === undefined ||
    id === undefined ||
    rest.length > 0 ||
    !FHIR_RESOURCE_TYPES.has(resourceType) ||
    !FHIR_ID.test(id)
  ) {
    fail(`X-Medplum-Deleted-Resource ${show(value)} is not Type/id`, 'X-Medplum-Deleted-Resource');
  }
  return { resourceType, id };
}

function interactionHeader(headers: JsonObject): Interaction | undefined {
  const value = header(headers, 'x-medplum-interaction')?.toLowerCase();
  if (value === undefined || value === 'create' || value === 'update' || value === 'delete') {
    return value;
  }
  return fail(
    `Unknown X-Medplum-Interaction ${show(value)}: expected create, update or delete`,
    'X-Medplum-Interaction',
  );
}

/** X-Medplum-Subscription: the sender's Subscription id (a reference is tolerated). */
export function subscriptionHeader(headers: JsonObject): string | undefined {
  const value = header(headers, 'x-medplum-subscription');
  if (value === undefined) {
    return undefined;
  }
  const id = FHIR_ID.test(value) ? value : subscriptionIdFromReference(value);
  if (id === undefined) {
    fail(`X-Medplum-Subscription ${show(value)} is not a Subscription id`, 'X-Medplum-Subscription');
  }
  return id;
}
