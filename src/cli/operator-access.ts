/**
 * What an operator reads from the command line is audited like the API's answers: an AuditEvent
 * (src/fhir/audit-access.ts) whose agent is the CLI and the operating-system user running it.
 */
import { userInfo } from 'node:os';
import type { DriplineConfig } from '../config/config.ts';
import type { AccessRecord } from '../fhir/audit-access.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import type { Store, TenantId } from '../store/port.ts';

/** The agent of the operator's reads and changes: `dripline-cli:<user name>`. */
export function operatorClientId(): string {
  return `dripline-cli:${userInfo().username}`;
}

export async function recordOperatorAccess(
  store: Pick<Store, 'resources'>,
  config: Pick<DriplineConfig, 'publicUrl'>,
  tenant: TenantId,
  now: Date,
  access: Omit<AccessRecord, 'clientId'>,
): Promise<void> {
  await recordAccess(
    store,
    tenant,
    { clientId: operatorClientId(), ...access },
    { publicUrl: config.publicUrl, now },
  );
}
