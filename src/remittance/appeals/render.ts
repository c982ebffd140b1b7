/**
 * An appeal's packet as PDF bytes: the facts gathered (./packet-facts.ts), the content built
 * (./packet.ts) and laid out (../documents/pdf.ts). Also says which resources and patients it
 * disclosed, for the caller's AuditEvent.
 */
import type { TenantId } from '../../store/port.ts';
import { renderPdf } from '../documents/pdf.ts';
import type { AppealDeps } from './actions.ts';
import { readAppeal, todayFor } from './actions.ts';
import { appealPacket } from './packet.ts';
import { gatherPacketFacts } from './packet-facts.ts';
import { appealView } from './task.ts';

export async function renderAppealPacket(
  deps: AppealDeps,
  tenant: TenantId,
  id: string,
): Promise<{ pdf: Buffer; resources: string[]; patients: string[] } | string> {
  const task = await readAppeal(deps.store, tenant, id);
  const view = task ? appealView(task) : undefined;
  const config = deps.tenants().find((t) => t.id === tenant);
  if (!view || !config) {
    return `No appeal ${id}`;
  }
  const today = todayFor(deps, tenant);
  const facts = await gatherPacketFacts(deps.store, tenant, config, view, today);
  if (typeof facts === 'string') {
    return facts;
  }
  const pdf = await renderPdf(
    { title: `Appeal of claim ${view.claim}`, author: facts.provider.name, created: deps.now() },
    appealPacket(facts),
  );
  return {
    pdf,
    resources: facts.attachments.map((a) => a.reference).filter((r) => /^[A-Z][A-Za-z]+\/[^/\s]+$/.test(r)),
    patients: view.patient ? [view.patient] : [],
  };
}
