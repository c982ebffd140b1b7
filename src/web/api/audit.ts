/**
 * A patient's audit trail as a person reads it: who (the person, else the client), when, what
 * they did, to what, and why (an action's reason), newest first.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Store, TenantId } from '../../store/port.ts';

export interface AuditEntry {
  readonly at: string;
  readonly who: string;
  readonly action: string;
  readonly outcome: string;
  readonly what: readonly string[];
  readonly reason?: string;
}

const ACTIONS: Readonly<Record<string, string>> = {
  C: 'created',
  R: 'read',
  U: 'updated',
  D: 'deleted',
  E: 'ran',
};

export async function patientAudit(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  patient: string,
  limit = 200,
): Promise<AuditEntry[]> {
  const page = await store.resources.search(tenant, {
    resourceType: 'AuditEvent',
    filters: [{ code: 'patient', kind: 'reference', values: [patient] }],
    sort: [{ code: 'date', descending: true }],
    count: limit,
    offset: 0,
    total: false,
  });
  return (page.resources as AuditEvent[]).map((event) => {
    const requestor = event.agent.find((a) => a.requestor) ?? event.agent[0];
    const who =
      requestor?.who?.display ?? requestor?.who?.reference ?? requestor?.who?.identifier?.value ?? 'unknown';
    const subtype = event.subtype
      ?.map((s) => s.code)
      .filter(Boolean)
      .join(', ');
    const reason = event.purposeOfEvent?.[0]?.text;
    return {
      at: event.recorded,
      who,
      action: `${ACTIONS[event.action ?? ''] ?? event.action ?? ''}${subtype ? ` (${subtype})` : ''}`,
      outcome: event.outcome === '0' ? 'success' : 'failure',
      what: (event.entity ?? []).flatMap((e) =>
        e.what?.reference && !e.what.reference.startsWith('Patient/') ? [e.what.reference] : [],
      ),
      ...(reason ? { reason } : {}),
    };
  });
}
