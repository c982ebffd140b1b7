/**
 * Checks of the claim as a document: valid FHIR for its profiles, lines with units and the
 * setting's place of service, diagnoses and pointers, an institutional claim's attending, and no
 * other standing claim of the patient billing the same service.
 */
import { normalizeErrorString } from '@medplum/core';
import type { Practitioner } from '@medplum/fhirtypes';
import {
  conformsFastToProfiles,
  getOwnProfile,
  loadFhirDefinitions,
  validateAgainstProfile,
  validateR4,
} from '../../fhir/definitions.ts';
import { CLAIM_SYSTEMS, PLACE_OF_SERVICE } from '../build.ts';
import type { ClaimContext } from '../types.ts';
import { npi } from '../../x12/encode.ts';
import type { Findings, Line } from './findings.ts';
import { claimDiagnosisCodes, frequencyOf, idOf } from './findings.ts';
import { EXT_CLAIM_REPLACED_BY } from '../../contract/canonical.ts';

/**
 * A claim that is not valid FHIR R4 for its profiles (dripline-claim) is never sent: an error naming
 * what failed, not overridable. Definitions are loaded once per process.
 */
export function checkValidity(ctx: ClaimContext, f: Findings): void {
  loadFhirDefinitions();
  const own = (ctx.claim.meta?.profile ?? []).map((url) => getOwnProfile(url)).filter((p) => p !== undefined);
  // A conforming claim is settled by the compiled checks; anything else by @medplum/core, in order.
  if (conformsFastToProfiles(ctx.claim, own)) {
    return;
  }
  for (const profile of [undefined, ...own]) {
    try {
      if (profile) {
        validateAgainstProfile(ctx.claim, profile);
      } else {
        validateR4(ctx.claim);
      }
    } catch (err) {
      f.add(
        'claim-invalid',
        `${profile ? `Profile ${profile.name ?? profile.url}: ` : ''}${normalizeErrorString(err)}`,
      );
      return;
    }
  }
}

/** An institutional claim names its attending (837I loop 2310A): a Practitioner with an NPI and a family name. */
export function checkAttending(ctx: ClaimContext, f: Findings): void {
  const institutional = ctx.claim.type?.coding?.some((c) => c.code === 'institutional') === true;
  if (!institutional) {
    return;
  }
  const member = ctx.claim.careTeam?.find((m) => m.role?.coding?.some((c) => c.code === 'attending'));
  const practitioner = ctx.claim.contained?.find(
    (r): r is Practitioner =>
      r.resourceType === 'Practitioner' && `#${r.id ?? ''}` === member?.provider.reference,
  );
  const npiValue = practitioner?.identifier?.find((i) => i.system === CLAIM_SYSTEMS.npi)?.value;
  const family = practitioner?.name?.find((n) => n.family?.trim())?.family;
  let validNpi = false;
  try {
    npi(npiValue, 'attending NPI');
    validNpi = true;
  } catch {
    // named below
  }
  if (!practitioner) {
    f.add(
      'attending-missing',
      'The institutional claim names no attending provider: the encounter has no ATND participant, and no order of its administrations names a practitioner on file.',
    );
  } else if (!validNpi || !family) {
    f.add(
      'attending-missing',
      `The attending provider has ${!family ? 'no family name' : `no valid NPI (${npiValue ?? 'none'})`}.`,
    );
  }
}

export function checkLines(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const expectedPos = PLACE_OF_SERVICE[ctx.setting];
  for (const line of lines) {
    if (!(line.units > 0)) {
      f.add('units-invalid', `Line ${line.sequence} (${line.code}) has ${line.units} units.`, {
        itemSequence: line.sequence,
      });
    }
    const pos = line.item.locationCodeableConcept?.coding?.find(
      (c) => c.system === CLAIM_SYSTEMS.placeOfService,
    )?.code;
    if (pos !== undefined && pos !== expectedPos) {
      f.add(
        'place-of-service',
        `Line ${line.sequence} (${line.code}) has place of service ${pos}; a ${ctx.setting} claim needs ${expectedPos}.`,
        { itemSequence: line.sequence },
      );
    }
  }
}

export function checkDiagnoses(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const codes = claimDiagnosisCodes(ctx.claim);
  if (codes.size === 0) {
    f.add('diagnosis-missing', 'The claim has no ICD-10-CM diagnosis.');
    return;
  }
  for (const line of lines) {
    const pointers = line.item.diagnosisSequence ?? [];
    if (pointers.length === 0 || pointers.some((p) => !codes.has(p))) {
      f.add('diagnosis-missing', `Line ${line.sequence} (${line.code}) has no valid diagnosis pointer.`, {
        itemSequence: line.sequence,
      });
    }
  }
}

export function checkDuplicates(ctx: ClaimContext, lines: readonly Line[], f: Findings): void {
  const patient = ctx.claim.patient.reference;
  const replaced = new Set(
    (ctx.claim.related ?? []).map((r) => idOf(r.claim?.reference, 'Claim')).filter((id) => id !== undefined),
  );
  const mine = new Set(lines.map((l) => `${l.date}|${l.code}|${[...l.modifiers].sort().join(',')}`));
  const reported = new Set<string>();
  for (const other of ctx.otherClaims) {
    if (
      other.id === ctx.claim.id ||
      // A prior authorization request (Da Vinci PAS) asks for services; it bills nothing.
      other.use === 'preauthorization' ||
      other.status !== 'active' ||
      other.patient.reference !== patient ||
      replaced.has(other.id ?? '') ||
      frequencyOf(other) === '8' ||
      // Replaced or voided: its lines no longer stand (its replacement, if any, is checked itself).
      (other.extension ?? []).some((e) => e.url === EXT_CLAIM_REPLACED_BY)
    ) {
      continue;
    }
    for (const item of other.item ?? []) {
      const code = item.productOrService.coding?.find((c) => c.code !== undefined)?.code ?? '';
      const date = (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10);
      const modifiers = (item.modifier ?? []).flatMap((m) => (m.coding ?? []).map((c) => c.code ?? ''));
      const key = `${date}|${code}|${[...modifiers].sort().join(',')}`;
      if (mine.has(key) && !reported.has(`${other.id ?? ''}|${key}`)) {
        reported.add(`${other.id ?? ''}|${key}`);
        const line = lines.find((l) => `${l.date}|${l.code}|${[...l.modifiers].sort().join(',')}` === key);
        f.add(
          'duplicate-claim',
          `Claim ${other.id ?? '(no id)'} already bills ${code} on ${date} for this patient.`,
          line ? { itemSequence: line.sequence } : {},
        );
      }
    }
  }
}
