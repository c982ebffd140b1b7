/**
 * How the sandbox X12 payer reads an 837 batch (005010X222A1 professional, 005010X223A2
 * institutional) the way a payer's front end does: from the segments on the wire, into the claim
 * form its adjudication takes (a FHIR Claim, as its FHIR endpoint receives them), keeping what a
 * remittance must echo — the patient control number (CLM01), each line's control number (REF*6R),
 * the patient and insured names, the billing provider's NPI. It reads the segments it needs and
 * skips the rest; a claim without CLM01, or a line without a procedure code, is refused with the
 * segment's position. Pure (the text is passed in).
 */
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import { EXT_CLAIM_FREQUENCY } from '../../../contract/canonical.ts';
import { components, element, parseX12 } from '../../../x12/parse.ts';
import type { X12Segment } from '../../../x12/parse.ts';

const NDC_SYSTEM = 'http://hl7.org/fhir/sid/ndc';
const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';

export interface ReceivedClaim837 {
  /** The claim as the payer adjudicates it (id = CLM01). */
  readonly claim: Claim & { id: string };
  readonly kind: '837P' | '837I';
  /** CLM01. */
  readonly patientControlNumber: string;
  /** NM1*PR NM109 of its subscriber loop: the payer id the claim is sent to. */
  readonly payerId: string;
  /** REF*6R by Claim.item.sequence. */
  readonly lineControlNumbers: ReadonlyMap<number, string>;
  readonly patient: { readonly last: string; readonly first?: string; readonly memberId?: string };
  /** Billing provider NPI (loop 2010AA) and the interchange sender (ISA06). */
  readonly billingNpi: string;
  readonly sender: string;
}

export class Read837Error extends Error {
  constructor(message: string, segment: X12Segment) {
    super(`837 segment ${segment.position} (${segment.id}): ${message}`);
    this.name = 'Read837Error';
  }
}

const d8 = (v: string): string =>
  /^\d{8}$/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}` : '';

interface Subscriber {
  last: string;
  first?: string;
  memberId?: string;
  payerId: string;
}

/** Every claim of an 837 interchange (one or several), in file order. */
export async function read837(text: string): Promise<ReceivedClaim837[]> {
  const out: ReceivedClaim837[] = [];
  let kind: '837P' | '837I' = '837P';
  let sender = '';
  let billingNpi = '';
  let subscriber: Subscriber = { last: '', payerId: '' };
  let patientName: { last: string; first?: string } | undefined;
  let nm1Context: 'billing' | 'subscriber' | 'payer' | 'patient' | 'other' = 'other';
  let current:
    | {
        claim: Claim & { id: string };
        items: ClaimItem[];
        lines: Map<number, string>;
        item?: ClaimItem;
        patient: { last: string; first?: string; memberId?: string };
        payerId: string;
      }
    | undefined;
  const finish = (): void => {
    if (current) {
      out.push({
        claim: { ...current.claim, item: current.items },
        kind,
        patientControlNumber: current.claim.id,
        payerId: current.payerId,
        lineControlNumbers: current.lines,
        patient: current.patient,
        billingNpi,
        sender,
      });
      current = undefined;
    }
  };
  for await (const s of parseX12([text])) {
    switch (s.id) {
      case 'ISA':
        sender = element(s, 6).trim();
        break;
      case 'GS':
        kind = element(s, 8).includes('X223') ? '837I' : '837P';
        break;
      case 'HL':
        finish();
        if (element(s, 3) === '23') {
          patientName = undefined; // a patient loop (2000C) follows
        } else if (element(s, 3) === '22') {
          patientName = undefined;
          subscriber = { last: '', payerId: '' };
        }
        break;
      case 'NM1': {
        const entity = element(s, 1);
        nm1Context =
          entity === '85'
            ? 'billing'
            : entity === 'IL'
              ? 'subscriber'
              : entity === 'PR'
                ? 'payer'
                : entity === 'QC'
                  ? 'patient'
                  : 'other';
        if (nm1Context === 'billing') {
          billingNpi = element(s, 9);
        } else if (nm1Context === 'subscriber') {
          const first = element(s, 4);
          subscriber = {
            ...subscriber,
            last: element(s, 3),
            ...(first ? { first } : {}),
            ...(element(s, 9) ? { memberId: element(s, 9) } : {}),
          };
        } else if (nm1Context === 'payer') {
          subscriber = { ...subscriber, payerId: element(s, 9) };
        } else if (nm1Context === 'patient') {
          const first = element(s, 4);
          patientName = { last: element(s, 3), ...(first ? { first } : {}) };
        }
        break;
      }
      case 'CLM': {
        finish();
        const id = element(s, 1);
        if (!id) {
          throw new Read837Error('CLM01 (patient control number) is empty', s);
        }
        const facility = components(s, 5);
        const frequency = facility[2] ?? '1';
        const patient = patientName
          ? { ...patientName, ...(subscriber.memberId ? { memberId: subscriber.memberId } : {}) }
          : {
              last: subscriber.last,
              ...(subscriber.first ? { first: subscriber.first } : {}),
              ...(subscriber.memberId ? { memberId: subscriber.memberId } : {}),
            };
        current = {
          claim: {
            resourceType: 'Claim',
            id,
            status: 'active',
            type: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/claim-type',
                  code: kind === '837I' ? 'institutional' : 'professional',
                },
              ],
            },
            use: 'claim',
            identifier: [{ system: `urn:x12:837:clm01:${sender}`, value: id }],
            extension: [{ url: EXT_CLAIM_FREQUENCY, valueCode: frequency }],
            patient: {
              identifier: { value: `${subscriber.memberId ?? ''}|${patient.last}|${patient.first ?? ''}` },
            },
            created: '',
            provider: { identifier: { value: billingNpi } },
            priority: { coding: [{ code: 'normal' }] },
            insurer: { identifier: { value: subscriber.payerId } },
            insurance: [
              {
                sequence: 1,
                focal: true,
                coverage: {
                  display: 'as billed',
                  ...(subscriber.memberId ? { identifier: { value: subscriber.memberId } } : {}),
                },
              },
            ],
            total: { value: Number(element(s, 2)), currency: 'USD' },
          },
          items: [],
          lines: new Map(),
          patient,
          payerId: subscriber.payerId,
        };
        break;
      }
      case 'REF':
        if (!current) {
          break;
        }
        if (element(s, 1) === 'G1') {
          const insurance = current.claim.insurance?.[0];
          if (insurance) {
            insurance.preAuthRef = [...(insurance.preAuthRef ?? []), element(s, 2)];
          }
        } else if (element(s, 1) === 'F8') {
          current.claim.related = [
            {
              relationship: { coding: [{ code: 'prior' }] },
              reference: { value: element(s, 2) },
            },
          ];
        } else if (element(s, 1) === '6R' && current.item) {
          current.lines.set(current.item.sequence, element(s, 2));
        }
        break;
      case 'HI':
        if (current) {
          for (let n = 1; n <= 12; n++) {
            const [qualifier, code] = components(s, n);
            if (code && ['ABK', 'ABF', 'BK', 'BF', 'ABJ'].includes(qualifier ?? '')) {
              const sequence = (current.claim.diagnosis?.length ?? 0) + 1;
              current.claim.diagnosis = [
                ...(current.claim.diagnosis ?? []),
                { sequence, diagnosisCodeableConcept: { coding: [{ system: ICD10CM, code }] } },
              ];
            }
          }
        }
        break;
      case 'SV1':
      case 'SV2': {
        if (!current) {
          break;
        }
        const institutional = s.id === 'SV2';
        const procedure = components(s, institutional ? 2 : 1);
        const code = procedure[1] ?? '';
        if (!code) {
          throw new Read837Error('the line names no procedure code', s);
        }
        const pointers = institutional
          ? []
          : components(s, 7)
              .map(Number)
              .filter((n) => Number.isInteger(n) && n > 0);
        const item: ClaimItem = {
          sequence: current.items.length + 1,
          productOrService: { coding: [{ code }] },
          modifier: procedure.slice(2, 6).flatMap((m) => (m ? [{ coding: [{ code: m }] }] : [])),
          quantity: { value: Number(element(s, institutional ? 5 : 4)) },
          net: { value: Number(element(s, institutional ? 3 : 2)), currency: 'USD' },
          ...(institutional ? { revenue: { coding: [{ code: element(s, 1) }] } } : {}),
          ...(pointers.length > 0 ? { diagnosisSequence: pointers } : {}),
        };
        current.items.push(item);
        current.item = item;
        break;
      }
      case 'DTP':
        if (current?.item && element(s, 1) === '472') {
          current.item.servicedDate = d8(element(s, 3).slice(0, 8));
        }
        break;
      case 'LIN':
        if (current?.item && element(s, 2) === 'N4') {
          current.item.detail = [
            {
              sequence: 1,
              productOrService: { coding: [{ system: NDC_SYSTEM, code: element(s, 3) }] },
            },
          ];
        }
        break;
      default:
        break;
    }
  }
  finish();
  return out;
}
