/** Adapts the SMART Backend Services EhrClient to the ports ingest depends on. */
import type { Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../config/config.ts';
import type { EhrClientPort } from '../ingest/index.ts';
import type { EhrClient, EhrClientOptions } from './ehr-client.ts';
import { createEhrClient } from './ehr-client.ts';

/**
 * Pages one catch-up search reads (100 resources a page): beyond it the worker continues from the
 * last change read in another job, so a long outage is recovered in bounded steps.
 */
export const CATCH_UP_MAX_PAGES = 50;

export function toIngestPort(client: EhrClient, options: { readonly maxPages?: number } = {}): EhrClientPort {
  return {
    readUrl: (reference) => client.readUrl(reference),
    // Only the matches of the searched type: `_include`d resources are fetched on their own terms.
    searchAll: async (resourceType, params) => {
      const found = await client.searchAll(resourceType as Resource['resourceType'], params, {
        maxPages: options.maxPages ?? CATCH_UP_MAX_PAGES,
      });
      return {
        resources: found.resources.filter((r) => r.resourceType === resourceType),
        truncated: found.truncated,
      };
    },
    capabilities: () => client.capabilities(),
    operation: (path, options) => client.operation(path, options),
    create: (resource) => client.create(resource),
    update: (resource) => client.update(resource),
  };
}

/** One client per connection for the life of the process (each holds its token cache). */
export function ehrClientCache(
  options: Omit<EhrClientOptions, 'connection'> & { readonly catchUpMaxPages?: number } = {},
): (connection: EhrConnectionConfig) => EhrClientPort {
  const clients = new Map<string, EhrClientPort>();
  const { catchUpMaxPages, ...clientOptions } = options;
  return (connection) => {
    let port = clients.get(connection.id);
    if (!port) {
      port = toIngestPort(
        createEhrClient({ ...clientOptions, connection }),
        catchUpMaxPages !== undefined ? { maxPages: catchUpMaxPages } : {},
      );
      clients.set(connection.id, port);
    }
    return port;
  };
}
