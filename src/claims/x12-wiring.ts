/**
 * Connects the X12 routes to the store: claims of the tenant by filter, their context from the
 * claim workflow, and envelopes from the tenant's billing provider, the payer's usage and the
 * store's control number sequences (src/x12/interchange.ts).
 */
import type { Claim } from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import { patientsOfClaims, recordAccess } from '../fhir/audit-access.ts';
import type { Store, StoreFilter } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { interchangeUsage, nextControlNumbers } from '../x12/interchange.ts';
import type { ClaimContext } from './types.ts';
import { claimPayerOf } from './workflow/identity.ts';
import { claimStateOf } from './workflow/state.ts';
import type { X12Envelope, X12RouterDeps } from './x12-routes.ts';

export interface X12WiringDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly loadContext: (tenant: string, claimId: string) => Promise<ClaimContext | undefined>;
  readonly now?: () => Date;
}

export function x12RouterDeps(deps: X12WiringDeps): X12RouterDeps {
  const now = deps.now ?? (() => new Date());
  return {
    loadClaimContext: deps.loadContext,
    async audit(tenant, access) {
      await recordAccess(
        deps.store,
        tenant,
        {
          clientId: access.clientId,
          ...(access.requestId ? { requestId: access.requestId } : {}),
          interaction: 'operation',
          resources: access.claimIds.map((id) => `Claim/${id}`),
          patients: await patientsOfClaims(deps.store, tenant, access.claimIds),
          query: access.query,
        },
        { publicUrl: deps.publicUrl, now: now() },
      );
    },
    async listClaimIds(tenant, filter) {
      // State and payer are indexed (search parameters claim-state, claim-payer); the kind is not.
      const filters: StoreFilter[] = [
        ...(filter.ids
          ? [{ code: '_id', kind: 'token', values: filter.ids.map((value) => ({ value })) } as const]
          : []),
        ...(filter.state
          ? [{ code: 'claim-state', kind: 'token', values: [{ value: filter.state }] } as const]
          : []),
        ...(filter.payer
          ? [{ code: 'claim-payer', kind: 'token', values: [{ value: filter.payer }] } as const]
          : []),
      ];
      const claims = await searchAll<Claim>(deps.store, tenant, 'Claim', filters);
      const wantInstitutional = filter.kind === '837I';
      return claims
        .sort((a, b) => a.meta.lastUpdated.localeCompare(b.meta.lastUpdated) || a.id.localeCompare(b.id))
        .filter((claim) => {
          const institutional = claim.type?.coding?.some((c) => c.code === 'institutional') === true;
          return (
            institutional === wantInstitutional &&
            (!filter.state || claimStateOf(claim) === filter.state) &&
            (!filter.payer || claimPayerOf(claim) === filter.payer)
          );
        })
        .map((claim) => claim.id);
    },
    async envelope(tenant, _kind, payerId): Promise<X12Envelope> {
      const config = deps.tenants().find((t) => t.id === tenant);
      const sender = {
        id: config?.billing?.taxId ?? tenant.slice(0, 15),
        name: config?.billing?.name ?? tenant,
        ...(config?.billing?.phone
          ? { contact: { name: config.billing.name, phone: config.billing.phone } }
          : {}),
      };
      const receiver = { id: 'CLEARINGHOUSE', name: 'CLEARINGHOUSE' };
      const usage = interchangeUsage(config?.payers ?? [], payerId);
      return {
        sender,
        receiver,
        controlNumbers: await nextControlNumbers(deps.store.sequences, tenant, sender, receiver),
        usage,
      };
    },
  };
}
