/**
 * Claim identity: the stable ids of a group of encounters' claims (original, corrected, void) and
 * what a stored claim says about itself in Dripline's extensions (payer, frequency, the claim that
 * replaces it, its encounters, the inputs it was scrubbed from). Pure.
 */
import { createHash } from 'node:crypto';
import type { Claim, Encounter } from '@medplum/fhirtypes';
import { settingOf } from '../../coding/fhir/extract.ts';
import { normalizeReference } from '../../store/search-index.ts';
import { serviceDate } from '../../time/zone.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_INPUTS,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
} from '../../contract/canonical.ts';

/**
 * Fingerprint of what the claim was scrubbed from (the versions of its encounters, charges,
 * administrations, patient, coverages, conditions, medications): a held, rejected or cancelled
 * claim whose inputs differ is rebuilt and scrubbed again.
 */

/** Hex SHA-256 of `text`, cut to `length`: the stable ids the workflow derives. */
export function sha(text: string, length = 32): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, length);
}

/**
 * Which claim an encounter bills on, as a key: visits of one patient, setting and day of service
 * (in the facility's `zone`) bill together, a home-infusion encounter alone. Undefined when the
 * encounter names no care setting (it is not billed).
 */
export function claimGroupOf(encounter: Encounter, zone: string | undefined): string | undefined {
  const setting = settingOf(encounter);
  if (!setting) {
    return undefined;
  }
  if (setting === 'home') {
    return `Encounter/${encounter.id}`;
  }
  const subject = encounter.subject?.reference;
  const patient = (subject ? normalizeReference(subject) : undefined) ?? '?';
  const day = serviceDate(encounter.period?.start ?? encounter.period?.end ?? '', zone);
  return `${patient}|${setting}|${day}`;
}

/** The stable id of the claim of these encounters (any order) at this frequency code. */
export function claimIdFor(encounters: readonly string[], frequency = '1'): string {
  const refs = [...new Set(encounters.map((e) => normalizeReference(e) ?? e))].sort();
  return `claim-${sha(`${refs.join(',')}|${frequency}`)}`;
}

/**
 * The stable id of the corrected (frequency 7) claim that replaces `original`: the encounters'
 * frequency-7 id when it replaces their original claim, else one tied to the claim it replaces (a
 * correction of a correction).
 */
export function correctionIdFor(encounters: readonly string[], original: string): string {
  return original === claimIdFor(encounters, '1')
    ? claimIdFor(encounters, '7')
    : claimIdFor(encounters, `7|Claim/${original}`);
}

/**
 * The stable id of the void (frequency 8) claim of `original`: the encounters' frequency-8 id when
 * it voids their original claim, else one tied to the claim it voids (e.g. a corrected claim).
 */
export function voidIdFor(encounters: readonly string[], original: string): string {
  return original === claimIdFor(encounters, '1')
    ? claimIdFor(encounters, '8')
    : claimIdFor(encounters, `8|Claim/${original}`);
}

/** The claim frequency code of a claim (extension claim-frequency; default 1). */
export function claimFrequencyOf(claim: Claim): string {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode ?? '1';
}

/** The claim that replaces this one (extension claim-replaced-by), as an id. */
export function replacedByOf(claim: Claim): string | undefined {
  const ref = claim.extension?.find((e) => e.url === EXT_CLAIM_REPLACED_BY)?.valueReference?.reference;
  return ref?.startsWith('Claim/') ? ref.slice('Claim/'.length) : undefined;
}

/** The encounters a claim's lines name ("Encounter/id", sorted, distinct). */
export function encountersOfClaim(claim: Claim): string[] {
  return [
    ...new Set(
      (claim.item ?? []).flatMap((i) =>
        (i.encounter ?? []).map((e) => (e.reference ? (normalizeReference(e.reference) ?? '') : '')),
      ),
    ),
  ]
    .filter((r) => r.startsWith('Encounter/'))
    .sort();
}

export function claimPayerOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_PAYER)?.valueString;
}

/** The inputs fingerprint a claim was last scrubbed from (extension claim-inputs). */
export function claimInputsOf(claim: Claim): string | undefined {
  return claim.extension?.find((e) => e.url === EXT_CLAIM_INPUTS)?.valueString;
}

export function withInputs<T extends Claim>(claim: T, fingerprint: string): T {
  return {
    ...claim,
    extension: [
      ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_INPUTS),
      { url: EXT_CLAIM_INPUTS, valueString: fingerprint },
    ],
  };
}
