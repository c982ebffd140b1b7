/**
 * An EHR connection for tests that only receive notifications: its FHIR base is a port nothing
 * listens on (9, discard), so any fetch-back fails at once, and its key is a placeholder never used.
 */
import type { EhrConnectionConfig } from '../../src/config/config.ts';

export function unreachableEhrConnection(
  id: string,
  extra: Partial<EhrConnectionConfig> = {},
): EhrConnectionConfig {
  return {
    id,
    fhirBaseUrl: 'http://127.0.0.1:9/fhir',
    clientId: 'dripline',
    privateKeyJwk: { kty: 'EC', crv: 'P-384', d: 'x', x: 'x', y: 'y', alg: 'ES384' },
    scope: 'system/*.rs',
    mode: 'backport',
    payload: 'id-only',
    locations: [],
    heartbeatSeconds: 60,
    pollIntervalSeconds: 60,
    ...extra,
  };
}
