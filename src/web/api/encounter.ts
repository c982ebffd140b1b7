/**
 * The encounter in context: each charge line with its rationale in words (rule, minutes, amounts,
 * sources), the documentation issues charge capture found, the claim(s) billing it with state and
 * scrub findings, the prior authorizations they use, and — while it waits for its claim inside the
 * tenant's bill hold — when that hold is over, so nobody wonders why no claim exists.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  Encounter,
  Extension,
  Patient,
  Task,
} from '@medplum/fhirtypes';
import { EXT_CHARGE_LINE_KEY, EXT_CHARGE_MODIFIER, EXT_CODING_RATIONALE } from '../../contract/canonical.ts';
import { authorizationsOf } from '../../coverage/authorizations.ts';
import { billHoldStatus } from '../../claims/workflow/bill-hold-status.ts';
import { claimPayerOf } from '../../claims/workflow/identity.ts';
import { claimStateOf } from '../../claims/workflow/state.ts';
import { claimTaskId, findingsOfTask } from '../../claims/workflow/tasks.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { ChargeLineView, EncounterView } from '../view-types.ts';
import { findingView, personName, readOrUndefined } from './lookup.ts';

function rationale(
  extensions: readonly Extension[] | undefined,
): Pick<ChargeLineView, 'rule' | 'text' | 'minutes' | 'amounts' | 'sources'> {
  const parts = extensions?.find((e) => e.url === EXT_CODING_RATIONALE)?.extension ?? [];
  const amounts: Record<string, number> = {};
  for (const a of parts.filter((p) => p.url === 'amount')) {
    const name = a.extension?.find((x) => x.url === 'name')?.valueString;
    const value = a.extension?.find((x) => x.url === 'value')?.valueDecimal;
    if (name !== undefined && value !== undefined) {
      amounts[name] = value;
    }
  }
  const minutes = parts.find((p) => p.url === 'minutes')?.valueDecimal;
  return {
    rule: parts.find((p) => p.url === 'rule')?.valueString ?? '',
    text: parts.find((p) => p.url === 'text')?.valueString ?? '',
    ...(minutes !== undefined ? { minutes } : {}),
    amounts,
    sources: parts.filter((p) => p.url === 'source').flatMap((p) => (p.valueString ? [p.valueString] : [])),
  };
}

export async function encounterView(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: Pick<TenantConfig, 'payers' | 'billHold' | 'timeZone' | 'coding'>,
  encounterId: string,
  now: Date,
): Promise<EncounterView | undefined> {
  const encounter = await readOrUndefined<Encounter>(store, tenant, 'Encounter', encounterId);
  if (!encounter) {
    return undefined;
  }
  const reference = `Encounter/${encounter.id}`;
  const patientRef = encounter.subject?.reference ?? '';
  const patient = patientRef.startsWith('Patient/')
    ? await readOrUndefined<Patient>(store, tenant, 'Patient', patientRef.slice(8))
    : undefined;
  const byEncounter = [{ code: 'encounter', kind: 'reference', values: [reference] }] as const;
  const items = await searchAll<ChargeItem>(store, tenant, 'ChargeItem', byEncounter);
  const claims = await searchAll<Claim>(store, tenant, 'Claim', byEncounter);
  const tasks = await searchAll<Task>(store, tenant, 'Task', byEncounter);
  const responses = patientRef
    ? await searchAll<ClaimResponse>(store, tenant, 'ClaimResponse', [
        { code: 'patient', kind: 'reference', values: [patientRef] },
      ])
    : [];
  const claimViews = await Promise.all(
    claims.map(async (claim) => {
      const task = await readOrUndefined<Task>(store, tenant, 'Task', claimTaskId(claim.id));
      const open = task && task.status !== 'completed' && task.status !== 'cancelled';
      const payerId = claimPayerOf(claim) ?? '';
      return {
        id: claim.id,
        state: claimStateOf(claim) ?? 'untracked',
        payer: config.payers.find((p) => p.id === payerId)?.name ?? payerId,
        total: claim.total?.value ?? 0,
        findings: open ? findingsOfTask(task).map(findingView) : [],
        preAuthRefs: (claim.insurance ?? []).flatMap((i) => i.preAuthRef ?? []),
      };
    }),
  );
  const used = new Set(claimViews.flatMap((c) => c.preAuthRefs));
  const authorizations = authorizationsOf(responses, []).filter((a) => used.has(a.number) || used.size === 0);
  const billHold = await billHoldStatus(store, tenant, config, encounter, now, { charges: items, claims });
  return {
    encounter: {
      id: encounter.id,
      status: encounter.status,
      ...(encounter.period?.start ? { start: encounter.period.start } : {}),
      ...(encounter.period?.end ? { end: encounter.period.end } : {}),
      ...(encounter.class.code ? { setting: encounter.class.display ?? encounter.class.code } : {}),
      timeZone: tenantCalendarZone(config),
    },
    patient: {
      reference: patientRef,
      name: personName(patient?.name) || patientRef,
      ...(patient?.birthDate ? { birthDate: patient.birthDate } : {}),
    },
    charges: items
      .map((item) => {
        const coding = item.code.coding?.[0];
        return {
          id: item.id,
          code: coding?.code ?? '',
          label: coding?.display ?? item.code.text ?? '',
          units: item.quantity?.value ?? 0,
          modifiers: (item.extension ?? [])
            .filter((e) => e.url === EXT_CHARGE_MODIFIER)
            .flatMap((e) => (e.valueCoding?.code ? [e.valueCoding.code] : [])),
          status: item.status,
          key: item.extension?.find((e) => e.url === EXT_CHARGE_LINE_KEY)?.valueString ?? item.id,
          ...rationale(item.extension),
        };
      })
      .sort((a, b) => a.key.localeCompare(b.key))
      .map(({ key: _key, ...line }) => line),
    issues: tasks
      .filter((t) => t.status !== 'completed' && t.status !== 'cancelled' && t.focus?.reference === reference)
      .flatMap((t) =>
        (t.input ?? []).map((input) => ({
          code: input.type.coding?.[0]?.code ?? '',
          text: input.valueReference?.display ?? input.valueString ?? input.type.text ?? '',
        })),
      ),
    claims: claimViews,
    ...(billHold ? { billHold } : {}),
    authorizations: authorizations.map((a) => ({
      number: a.number,
      ...(a.start ? { start: a.start } : {}),
      ...(a.end ? { end: a.end } : {}),
      services: a.services.map((s) => ({
        code: s.code,
        ...(s.units !== undefined ? { units: s.units } : {}),
      })),
    })),
  };
}
