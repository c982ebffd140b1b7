/**
 * The 005010X279A1 270 (eligibility, coverage or benefit inquiry) writer: one inquiry per
 * transaction set, in one interchange of one HS functional group (../envelope.ts). Pure.
 *
 * Transaction (TR3 section 2.4, 270 transaction set listing): ST*270, BHT*0022*13 (request);
 * 2000A HL*…*20 (information source) with 2100A NM1*PR*2 … PI; 2000B HL*…*21 (information receiver)
 * with 2100B NM1*1P*2 … XX (NPI); 2000C HL*…*22 (subscriber) with TRN*1, 2100C NM1*IL*1 … MI, DMG,
 * DTP*291 and one 2110C EQ per service type; when the patient is a dependent, 2000D HL*…*23 with
 * the TRN, 2100D NM1*03*1, DMG, DTP*291 and the EQs instead (HL04 of 2000C then says a child
 * follows). The TRN goes on the patient's level: the 271 returns it there (TRN01 2), which is how an
 * answer is matched to its question.
 */
import { seSegment, stSegment, writeInterchange } from '../envelope.ts';
import { d8, id, npi, segment, text, utcStamp, X12Error } from '../encode.ts';
import type { EligibilityPerson, Inquiry270, Write270Options } from './types.ts';
import { IMPLEMENTATION_270_271 } from './types.ts';

/** X12 1365 service type codes are one or two letters or digits. */
const SERVICE_TYPE = /^[A-Z0-9]{1,2}$/;

function personName(entity: 'IL' | '03', person: EligibilityPerson, ids: readonly string[]): string {
  const last = text(person.lastName, 60);
  if (!last) {
    throw new X12Error(`the ${entity === 'IL' ? 'subscriber' : 'patient'} has no last name`);
  }
  return segment(
    'NM1',
    entity,
    '1',
    last,
    text(person.firstName, 35),
    text(person.middleName, 25),
    '',
    text(person.suffix, 10),
    ...ids,
  );
}

function patientSegments(inquiry: Inquiry270, person: EligibilityPerson, entity: 'IL' | '03'): string[] {
  const out: string[] = [
    segment('TRN', '1', id(inquiry.trace.number, 'TRN02 trace number', 50), traceAssigner(inquiry)),
  ];
  out.push(
    personName(
      entity,
      person,
      entity === 'IL' ? ['MI', id(inquiry.subscriber.memberId, 'subscriber member id (NM109)', 80)] : [],
    ),
  );
  if (person.birthDate) {
    out.push(segment('DMG', 'D8', d8(person.birthDate, 'birth date'), person.gender ?? 'U'));
  }
  out.push(segment('DTP', '291', 'D8', d8(inquiry.date, 'date of service (DTP*291)')));
  for (const code of inquiry.serviceTypes) {
    if (!SERVICE_TYPE.test(code)) {
      throw new X12Error(`service type code "${code}" is not an X12 1365 code`);
    }
    out.push(segment('EQ', code));
  }
  return out;
}

/** TRN03: 10 characters (TR3: "1" + EIN, "3" + DUNS or "9" + an identifier of one's own). */
function traceAssigner(inquiry: Inquiry270): string {
  const value = inquiry.trace.assigner;
  if (!/^[139][A-Z0-9]{9}$/.test(value)) {
    throw new X12Error(`TRN03 "${value}" must be 10 characters: 1, 3 or 9 and a 9-character identifier`);
  }
  return value;
}

/** The segments of one inquiry's transaction set, ST..SE. */
export function transaction270(inquiry: Inquiry270, stControl: string, options: Write270Options): string[] {
  if (inquiry.serviceTypes.length === 0) {
    throw new X12Error('an eligibility inquiry needs at least one service type (EQ01)');
  }
  const { ccyymmdd, hhmm } = utcStamp(options.now);
  const out: string[] = [
    stSegment('270', stControl, IMPLEMENTATION_270_271),
    segment('BHT', '0022', '13', id(options.reference, 'BHT03 reference', 50), ccyymmdd, hhmm),
    segment('HL', '1', '', '20', '1'),
    segment(
      'NM1',
      'PR',
      '2',
      text(inquiry.payer.name, 60) || id(inquiry.payer.id, 'payer id', 80),
      '',
      '',
      '',
      '',
      'PI',
      id(inquiry.payer.id, 'payer id (2100A NM109)', 80),
    ),
    segment('HL', '2', '1', '21', '1'),
    segment(
      'NM1',
      '1P',
      '2',
      text(inquiry.provider.name, 60),
      '',
      '',
      '',
      '',
      'XX',
      npi(inquiry.provider.npi, 'provider NPI (2100B NM109)'),
    ),
    segment('HL', '3', '2', '22', inquiry.dependent ? '1' : '0'),
  ];
  if (inquiry.dependent) {
    out.push(
      personName('IL', inquiry.subscriber, [
        'MI',
        id(inquiry.subscriber.memberId, 'subscriber member id (NM109)', 80),
      ]),
      segment('HL', '4', '3', '23', '0'),
      ...patientSegments(inquiry, inquiry.dependent, '03'),
    );
  } else {
    out.push(...patientSegments(inquiry, inquiry.subscriber, 'IL'));
  }
  out.push(seSegment(out.length + 1, stControl));
  return out;
}

/** One interchange (ISA … IEA) of one HS group holding a 270 per inquiry. */
export async function write270(inquiries: readonly Inquiry270[], options: Write270Options): Promise<string> {
  let text270 = '';
  for await (const chunk of writeInterchange(
    inquiries,
    (inquiry, stControl) => transaction270(inquiry, stControl, options),
    {
      sender: options.sender,
      receiver: options.receiver,
      controlNumbers: options.controlNumbers,
      now: options.now,
      usage: options.usage,
      functionalId: 'HS',
      version: IMPLEMENTATION_270_271,
    },
  )) {
    text270 += chunk;
  }
  return text270;
}
