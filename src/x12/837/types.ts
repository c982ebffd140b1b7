/**
 * What the 837 writer takes: the two kinds and their implementation guides, one claim's input, and
 * the writer's options. Declared in X12 so that X12 needs nothing from the claims capability: a
 * claims ClaimContext is a Claim837Input structurally, and claims passes its contexts as they are.
 */
import type { Claim, Coverage, Encounter, Organization, Patient, RelatedPerson } from '@medplum/fhirtypes';
import type { CareSetting, PayerKind } from '../../coding/types.ts';
import type { X12Error } from '../encode.ts';
import type { IsaParty } from '../envelope.ts';
import type { BillingProvider } from '../../config/billing.ts';

export type X12Kind = '837P' | '837I';

/** GS08 / ST03: the implementation guide of each kind. */
export const IMPLEMENTATION: Readonly<Record<X12Kind, string>> = {
  '837P': '005010X222A1',
  '837I': '005010X223A2',
};

/** What the writer reads of one claim: FHIR resources, plus the billing provider and payer as plain data. */
export interface Claim837Input {
  readonly claim: Claim & { id: string };
  readonly setting: CareSetting;
  readonly patient: Patient;
  /** Coverages in claim sequence order (primary first). */
  readonly coverages: readonly Coverage[];
  /** The resource the primary coverage's `subscriber` names, when on file (./subscriber.ts). */
  readonly subscriber?: Patient | RelatedPerson;
  /** The payer: NM1*PR name and id (2010BB), SBR09 from its kind. */
  readonly payer: { readonly name: string; readonly payerId: string; readonly kind: PayerKind };
  readonly payerOrganization?: Organization;
  /** The billing provider (2000A / 2010AA) and the submitter's fallback phone (PER). */
  readonly provider: BillingProvider837;
  /** The claim's encounters (837I CL103 patient status from their discharge disposition). */
  readonly encounters: readonly Encounter[];
}

/**
 * The billing provider as loop 2010AA needs it: the tenant's configured billing identity
 * (src/config/billing.ts), read as it is (NPI, PRV03 taxonomy, REF*EI tax id, N3/N4, PER phone).
 */
export type BillingProvider837 = BillingProvider;

export interface X12Party extends IsaParty {
  /** NM103 of loop 1000A / 1000B. */
  readonly name: string;
}

export interface Write837Options {
  readonly kind: X12Kind;
  /** Submitter: ISA06, GS02 and loop 1000A; `contact` for its PER (defaults to the billing provider's phone). */
  readonly sender: X12Party & { readonly contact?: { name: string; phone?: string; email?: string } };
  /** Receiver (clearinghouse or payer): ISA08, GS03 and loop 1000B. */
  readonly receiver: X12Party;
  /** ISA13 (1..999999999) and GS06 (1..999999999). */
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  /** Envelope dates (UTC). */
  readonly now: Date;
  /** ISA15: T test, P production. */
  readonly usage: 'T' | 'P';
  /** ISA14 (default false). */
  readonly ackRequested?: boolean;
  /** A newline after each segment terminator, for people reading the file (default false). */
  readonly lineBreaks?: boolean;
  /**
   * Coalesce transactions into chunks of at least this many characters before yielding (fewer,
   * larger writes for files and sockets; memory stays bounded by it). Default 0: one chunk per claim.
   */
  readonly chunkSize?: number;
  /** Claims per functional group (default and most 999,999: GE01's six digits); see ../envelope.ts. */
  readonly maxTransactionsPerGroup?: number;
  /** Skip a claim that cannot be rendered (instead of throwing). */
  readonly onError?: (claimId: string, error: X12Error) => void;
}
