/** FHIR request/response helpers shared by Dripline's FHIR API and the sandbox parties' servers. */
import type { Resource } from '@medplum/fhirtypes';
import type { Response } from 'express';
import type { StoredJson } from '../store/port.ts';
import { FHIR_JSON } from './outcomes.ts';

export function isResourceBody(body: unknown): body is Resource {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    typeof (body as { resourceType?: unknown }).resourceType === 'string'
  );
}

/** Sends a resource with ETag / Last-Modified (and Location on 201) from its meta. */
export function sendResource(res: Response, status: number, resource: Resource, fhirBaseUrl: string): void {
  const meta = resource.meta;
  if (meta?.versionId && resource.resourceType !== 'Bundle') {
    res.set('ETag', `W/"${meta.versionId}"`);
    if (meta.lastUpdated) {
      res.set('Last-Modified', new Date(meta.lastUpdated).toUTCString());
    }
    if (status === 201) {
      res.set(
        'Location',
        `${fhirBaseUrl}/${resource.resourceType}/${resource.id ?? ''}/_history/${meta.versionId}`,
      );
    }
  }
  res.status(status).type(FHIR_JSON).send(JSON.stringify(resource));
}

/** The ETag and Last-Modified of a stored resource's answer, from its version. */
export function storedJsonHeaders(stored: StoredJson): { ETag: string; 'Last-Modified': string } {
  return { ETag: `W/"${stored.versionId}"`, 'Last-Modified': new Date(stored.lastUpdated).toUTCString() };
}

/** Sends a stored resource's JSON text as it is (200, ETag / Last-Modified from its version). */
export function sendStoredJson(res: Response, stored: StoredJson): void {
  res.set(storedJsonHeaders(stored));
  res.status(200).type(FHIR_JSON).send(stored.json);
}
