/** Adapts the SMART Backend Services EhrClient to the ports ingest depends on. */
import type { Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../config/config.ts';
import type { EhrClientPort } from '../ingest/index.ts';
import type { EhrClient, EhrClientOptions } from './ehr-client.ts';
import { createEhrClient } from './ehr-client.ts';

export function toIngestPort(client: EhrClient): EhrClientPort {
  return {
    readUrl: (reference) => client.readUrl(reference),
    // Only the matches of the searched type: `_include`d resources are fetched on their own terms.
    searchAll: async (resourceType, params) =>
      (
        await client.searchAll(resourceType as Resource['resourceType'], params, { maxPages: 50 })
      ).resources.filter((r) => r.resourceType === resourceType),
    operation: (path, options) => client.operation(path, options),
    create: (resource) => client.create(resource),
    update: (resource) => client.update(resource),
  };
}

/** One client per connection for the life of the process (each holds its token cache). */
export function ehrClientCache(
  options: Omit<EhrClientOptions, 'connection'> = {},
): (connection: EhrConnectionConfig) => EhrClientPort {
  const clients = new Map<string, EhrClientPort>();
  return (connection) => {
    let port = clients.get(connection.id);
    if (!port) {
      port = toIngestPort(createEhrClient({ ...options, connection }));
      clients.set(connection.id, port);
    }
    return port;
  };
}
