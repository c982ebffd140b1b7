/**
 * The coding benchmark's realistic mix: the sandbox day's patients (src/sandbox/ehr/seed: every
 * setting, therapy class and messy case the sandbox EHR replays), each as the engine input charge
 * capture builds from the day's final FHIR resources — one input per patient holding that patient's
 * encounters (visits, home episodes and their nursing visits) and administrations.
 */
import type { Encounter, Reference, Resource } from '@medplum/fhirtypes';
import { extractCodingInput, settingOf } from '../../src/coding/fhir/extract.ts';
import type { CodingInput } from '../../src/coding/types.ts';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';

export interface DayMix {
  readonly inputs: readonly CodingInput[];
  /** Encounters with at least one administration: the encounters the engine codes, per input. */
  readonly codedEncounters: readonly number[];
}

const TIME_ZONE = 'America/New_York';

function patientOf(resource: Resource): string | undefined {
  const r = resource as { subject?: Reference; beneficiary?: Reference; patient?: Reference };
  return (r.subject ?? r.beneficiary ?? r.patient)?.reference;
}

/** The day's patients as engine inputs (deterministic: same date and seed, same inputs). */
export function sandboxDayMix(date: string, seed = 1): DayMix {
  const day = generateInfusionDay({ date, seed, timeZone: TIME_ZONE });
  const latest = new Map<string, Resource>();
  for (const r of day.reference) {
    latest.set(`${r.resourceType}/${r.id ?? ''}`, r);
  }
  for (const step of day.timeline) {
    latest.set(`${step.resource.resourceType}/${step.resource.id ?? ''}`, step.resource);
  }
  const shared: Resource[] = [];
  const byPatient = new Map<string, Resource[]>();
  for (const r of latest.values()) {
    const patient = patientOf(r);
    if (patient === undefined) {
      shared.push(r);
    } else {
      byPatient.set(patient, [...(byPatient.get(patient) ?? []), r]);
    }
  }
  const inputs: CodingInput[] = [];
  const codedEncounters: number[] = [];
  for (const own of byPatient.values()) {
    const encounters = own.filter((r): r is Encounter => r.resourceType === 'Encounter');
    if (encounters.length === 0) {
      continue;
    }
    const setting = encounters.map(settingOf).find((s) => s !== undefined);
    const extracted = extractCodingInput([...own, ...shared], {
      ...(setting ? { setting } : {}),
      options: { timeZone: TIME_ZONE },
    });
    if (extracted.input.administrations.length === 0) {
      continue;
    }
    inputs.push(extracted.input);
    codedEncounters.push(new Set(extracted.input.administrations.map((a) => a.encounterId)).size);
  }
  return { inputs, codedEncounters };
}
