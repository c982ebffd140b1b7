/**
 * The sandbox's X12 payer: a 005010X279A1 270 in, a 271 out, answered in real time from the same
 * enrollment and benefit plans as the FHIR eligibility (./enrollment.ts). Reads each 270
 * transaction (envelopes checked, src/x12/envelope-check.ts) for its BHT03 reference, the payer asked
 * (2100A NM109), the provider (2100B), the subscriber (2100C: name, member id, birth date), the
 * dependent (2100D), the trace (TRN) of the patient's level, the date asked (DTP*291) and the service
 * types (EQ01); answers each with a 271 (TR3 section 2.4, 271 listing):
 * - member not found, or name or birth date not matching → AAA*Y**reason*C on the subscriber level;
 * - ended → EB*6 with the plan's begin and end dates (DTP*346/347);
 * - in force → EB*1 for service type 30, the plan year (DTP*346/347), and per service type asked:
 *   deductible (EB*C, calendar year 23 and remaining 29), out-of-pocket maximum (EB*G, likewise),
 *   co-insurance (EB*A, EB08) with EB11 saying whether the plan authorizes that service first, and
 *   co-payment per visit (EB*B, EB06 27).
 * A body that is not a 270 interchange is refused (Read270Result not ok) with what is wrong.
 */
import type { PayerKind } from '../tables.ts';
import { checkEnvelopes } from '../../../x12/envelope-check.ts';
import { seSegment, stSegment, writeInterchange } from '../../../x12/envelope.ts';
import { decimal, segment, text, utcStamp } from '../../../x12/encode.ts';
import { element, parseX12, repetitions, X12SyntaxError } from '../../../x12/parse.ts';
import { IMPLEMENTATION_270_271 } from '../../../x12/270/types.ts';
import type { Enrollment } from './enrollment.ts';
import { benefitsOf, coveredOn } from './enrollment.ts';

/** One 270 inquiry as the sandbox payer reads it. */
export interface Inquiry {
  readonly reference: string;
  readonly payerId: string;
  readonly providerName: string;
  readonly providerNpi: string;
  readonly subscriber: { lastName: string; firstName?: string; memberId?: string; birthDate?: string };
  readonly dependent?: { lastName: string; firstName?: string; birthDate?: string };
  readonly trace?: { number: string; assigner: string };
  readonly date?: string;
  readonly serviceTypes: string[];
}

export type Read270Result =
  | { readonly ok: true; readonly sender: string; readonly receiver: string; readonly inquiries: Inquiry[] }
  | { readonly ok: false; readonly problem: string };

const isoOf = (d8: string): string | undefined =>
  /^\d{8}$/.test(d8) ? `${d8.slice(0, 4)}-${d8.slice(4, 6)}-${d8.slice(6, 8)}` : undefined;
const d8Of = (iso: string): string => iso.replace(/-/g, '');

/** Reads the 270 transactions of an interchange. */
export async function read270(body: string): Promise<Read270Result> {
  const inquiries: Inquiry[] = [];
  let sender = '';
  let receiver = '';
  let current:
    | {
        -readonly [K in keyof Inquiry]: Inquiry[K];
      }
    | undefined;
  let hl = '';
  try {
    for await (const s of checkEnvelopes(parseX12([body]))) {
      switch (s.id) {
        case 'ISA':
          sender = element(s, 6).trim();
          receiver = element(s, 8).trim();
          break;
        case 'GS':
          if (element(s, 1) !== 'HS' || !element(s, 8).startsWith(IMPLEMENTATION_270_271)) {
            return {
              ok: false,
              problem: `GS "${element(s, 1)}" / "${element(s, 8)}" is not an HS group of ${IMPLEMENTATION_270_271}`,
            };
          }
          break;
        case 'ST':
          if (element(s, 1) !== '270') {
            return { ok: false, problem: `segment ${s.position}: ST01 "${element(s, 1)}" is not 270` };
          }
          current = {
            reference: '',
            payerId: '',
            providerName: '',
            providerNpi: '',
            subscriber: { lastName: '' },
            serviceTypes: [],
          };
          break;
        case 'BHT':
          if (current) {
            current.reference = element(s, 3);
          }
          break;
        case 'HL':
          hl = element(s, 3);
          break;
        case 'TRN':
          if (current) {
            current.trace = { number: element(s, 2), assigner: element(s, 3) };
          }
          break;
        case 'NM1':
          if (!current) {
            break;
          }
          if (hl === '20') {
            current.payerId = element(s, 9);
          } else if (hl === '21') {
            current.providerName = element(s, 3);
            current.providerNpi = element(s, 9);
          } else if (hl === '22') {
            current.subscriber = {
              lastName: element(s, 3),
              ...(element(s, 4) ? { firstName: element(s, 4) } : {}),
              ...(element(s, 9) ? { memberId: element(s, 9) } : {}),
            };
          } else if (hl === '23') {
            current.dependent = {
              lastName: element(s, 3),
              ...(element(s, 4) ? { firstName: element(s, 4) } : {}),
            };
          }
          break;
        case 'DMG': {
          const birthDate = isoOf(element(s, 2));
          if (current && birthDate) {
            if (hl === '23' && current.dependent) {
              current.dependent = { ...current.dependent, birthDate };
            } else {
              current.subscriber = { ...current.subscriber, birthDate };
            }
          }
          break;
        }
        case 'DTP':
          if (current && element(s, 1) === '291') {
            const date = isoOf(element(s, 3).split('-')[0] ?? '');
            if (date) {
              current.date = date;
            }
          }
          break;
        case 'EQ':
          current?.serviceTypes.push(...repetitions(s, 1).filter((c) => c !== ''));
          break;
        case 'SE':
          if (current) {
            inquiries.push(current);
          }
          current = undefined;
          break;
        default:
          break;
      }
    }
  } catch (err) {
    if (err instanceof X12SyntaxError) {
      return { ok: false, problem: err.message };
    }
    throw err;
  }
  return inquiries.length > 0
    ? { ok: true, sender, receiver, inquiries }
    : { ok: false, problem: 'no 270 transaction' };
}

export interface X12PayerContext {
  readonly enrollment: Enrollment;
  readonly kindOf: (payerId: string) => PayerKind | undefined;
  readonly payerName: (payerId: string) => string;
  /** The payer's today (YYYY-MM-DD). */
  readonly today: string;
  readonly now: Date;
  readonly controlNumber: number;
  /** Injected fault: a segment no 271 has, or an interchange without its IEA. */
  readonly garble?: 'unknown-segment' | 'broken-envelope';
}

function answerSegments(inquiry: Inquiry, ctx: X12PayerContext, stControl: string): string[] {
  const { ccyymmdd, hhmm } = utcStamp(ctx.now);
  const out: string[] = [
    stSegment('271', stControl, IMPLEMENTATION_270_271),
    segment('BHT', '0022', '11', inquiry.reference, ccyymmdd, hhmm),
    segment('HL', '1', '', '20', '1'),
    segment(
      'NM1',
      'PR',
      '2',
      text(ctx.payerName(inquiry.payerId), 60),
      '',
      '',
      '',
      '',
      'PI',
      inquiry.payerId,
    ),
    segment('HL', '2', '1', '21', '1'),
    segment('NM1', '1P', '2', text(inquiry.providerName, 60), '', '', '', '', 'XX', inquiry.providerNpi),
    segment('HL', '3', '2', '22', '0'),
  ];
  if (inquiry.trace) {
    out.push(segment('TRN', '2', inquiry.trace.number, inquiry.trace.assigner));
  }
  const kind = ctx.kindOf(inquiry.payerId);
  const lookup = kind
    ? ctx.enrollment.find(inquiry.payerId, {
        ...(inquiry.subscriber.memberId ? { memberId: inquiry.subscriber.memberId } : {}),
        lastName: inquiry.subscriber.lastName,
        ...(inquiry.subscriber.birthDate ? { birthDate: inquiry.subscriber.birthDate } : {}),
      })
    : ({ found: false, reason: '75' } as const);
  const name = segment(
    'NM1',
    'IL',
    '1',
    text(inquiry.subscriber.lastName, 60),
    text(inquiry.subscriber.firstName, 35),
    '',
    '',
    '',
    ...(inquiry.subscriber.memberId ? ['MI', inquiry.subscriber.memberId] : []),
  );
  if (!lookup.found || !kind) {
    out.push(name, segment('AAA', 'Y', '', lookup.found ? '75' : lookup.reason, 'C'));
  } else {
    const member = lookup.member;
    const date = inquiry.date ?? ctx.today;
    const inforce = coveredOn(member, date);
    out.push(name);
    if (member.birthDate) {
      out.push(segment('DMG', 'D8', d8Of(member.birthDate), member.gender ?? 'U'));
    }
    const year = date.slice(0, 4);
    const begin = inforce ? `${year}-01-01` : member.planStart;
    const end = inforce ? `${year}-12-31` : member.planEnd;
    out.push(segment('DTP', '346', 'D8', d8Of(begin)));
    if (end) {
      out.push(segment('DTP', '347', 'D8', d8Of(end)));
    }
    const benefits = benefitsOf(member, kind);
    const { plan } = benefits;
    out.push(segment('EB', inforce ? '1' : '6', 'IND', '30', '', plan.name));
    if (inforce) {
      for (const st of [...new Set(inquiry.serviceTypes.length > 0 ? inquiry.serviceTypes : ['30'])]) {
        const auth = plan.authorizationServiceTypes.includes(st) ? 'Y' : 'N';
        out.push(
          segment(
            'EB',
            'C',
            'IND',
            st,
            '',
            '',
            '23',
            decimal(plan.deductible, 'deductible'),
            '',
            '',
            '',
            '',
            'Y',
          ),
          segment(
            'EB',
            'C',
            'IND',
            st,
            '',
            '',
            '29',
            decimal(benefits.deductibleRemaining, 'deductible left'),
            '',
            '',
            '',
            '',
            'Y',
          ),
        );
        if (plan.outOfPocket !== undefined && benefits.outOfPocketRemaining !== undefined) {
          out.push(
            segment(
              'EB',
              'G',
              'IND',
              st,
              '',
              '',
              '23',
              decimal(plan.outOfPocket, 'out of pocket'),
              '',
              '',
              '',
              '',
              'Y',
            ),
            segment(
              'EB',
              'G',
              'IND',
              st,
              '',
              '',
              '29',
              decimal(benefits.outOfPocketRemaining, 'oop left'),
              '',
              '',
              '',
              '',
              'Y',
            ),
          );
        }
        out.push(
          segment('EB', 'A', 'IND', st, '', '', '', '', String(plan.coinsurance), '', '', auth, 'Y'),
          segment('EB', 'B', 'IND', st, '', '', '27', decimal(plan.copay, 'copay'), '', '', '', '', 'Y'),
        );
        if (auth === 'Y') {
          out.push(segment('MSG', 'AUTHORIZATION REQUIRED BEFORE SERVICE'));
        }
      }
    }
  }
  if (ctx.garble === 'unknown-segment') {
    out.push(segment('ZZQ', 'SANDBOX'));
  }
  out.push(seSegment(out.length + 1, stControl));
  return out;
}

/** The 271 interchange answering every inquiry of a 270 (sender and receiver swapped). */
export async function write271(
  read: Extract<Read270Result, { ok: true }>,
  ctx: X12PayerContext,
): Promise<string> {
  let out = '';
  for await (const chunk of writeInterchange(
    read.inquiries,
    (inquiry, st) => answerSegments(inquiry, ctx, st),
    {
      sender: { id: read.receiver || 'SANDBOXPAYER' },
      receiver: { id: read.sender || 'SUBMITTER' },
      controlNumbers: { isa: ctx.controlNumber, gs: ctx.controlNumber },
      now: ctx.now,
      usage: 'T',
      functionalId: 'HB',
      version: IMPLEMENTATION_270_271,
    },
  )) {
    out += chunk;
  }
  if (ctx.garble === 'broken-envelope') {
    // The interchange stops before its trailer.
    return out.slice(0, out.lastIndexOf('IEA'));
  }
  return out;
}
