/**
 * The 005010X279A1 271 reader: X12 text in, plain data out (./types.ts), or a problem that names the
 * segment. Strict: the envelopes must check out (../envelope-check.ts), the functional group must be
 * HB and the transactions 271s of this implementation guide, and every segment must be one the
 * TR3's 271 listing has (TR3 section 2.4, 271 transaction set listing: ST, BHT; per level HL, TRN,
 * AAA, NM1 and its REF N3 N4 PER PRV DMG INS HI DTP MPI; per 2110 EB, HSD, REF, DTP, AAA, MSG, III,
 * LS … LE with NM1 N3 N4 PER PRV; SE). An answer that is not that is not guessed at: the caller
 * records the problem and a person looks (nothing else changes).
 *
 * Loops are recognised by the segments that open them: HL opens a level (HL03 20 information
 * source, 21 receiver, 22 subscriber, 23 dependent); NM1 after the level's HL/TRN/AAA is its name
 * loop (2100x); EB opens an eligibility or benefit loop (2110x); LS … LE encloses the entities that
 * loop names (2120x).
 */
import { checkEnvelopes } from '../envelope-check.ts';
import type { X12Segment } from '../parse.ts';
import { components, element, parseX12, repetitions, X12SyntaxError } from '../parse.ts';
import { IMPLEMENTATION_270_271 } from '../270/types.ts';
import type {
  Benefit271,
  Date271,
  Level271,
  Level271Code,
  Party271,
  Read271Result,
  Rejection271,
  Response271,
  Trace271,
} from './types.ts';

const LEVELS: Readonly<Record<string, Level271Code>> = {
  '20': 'source',
  '21': 'receiver',
  '22': 'subscriber',
  '23': 'dependent',
};

/** Segments a level's name loop or an EB loop may hold that carry nothing Dripline reads. */
const PASSED = new Set(['N3', 'N4', 'PER', 'PRV', 'INS', 'HI', 'MPI', 'HSD', 'III']);

class Problem extends Error {}

function fail(segment: X12Segment, message: string): never {
  throw new Problem(`segment ${segment.position} (${segment.id}): ${message}`);
}

const optional = (value: string): string | undefined => (value === '' ? undefined : value);

function decimal(segment: X12Segment, n: number): number | undefined {
  const value = element(segment, n);
  if (value === '') {
    return undefined;
  }
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(value)) {
    fail(segment, `${segment.id}${String(n).padStart(2, '0')} "${value}" is not a decimal number`);
  }
  return Number(value);
}

function isoDate(segment: X12Segment, value: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  const iso = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
  const parsed = new Date(`${iso}T00:00:00Z`);
  if (!m || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso) {
    fail(segment, `"${value}" is not a date (CCYYMMDD)`);
  }
  return iso;
}

function dateOf(segment: X12Segment): Date271 {
  const qualifier = element(segment, 1);
  const format = element(segment, 2);
  const value = element(segment, 3);
  if (format === 'D8') {
    return { qualifier, start: isoDate(segment, value) };
  }
  if (format === 'RD8') {
    const [from = '', to = ''] = value.split('-');
    return { qualifier, start: isoDate(segment, from), end: isoDate(segment, to) };
  }
  return fail(segment, `DTP02 "${format}" is not D8 or RD8`);
}

function rejectionOf(segment: X12Segment): Rejection271 {
  return { valid: element(segment, 1), reason: element(segment, 3), followUp: element(segment, 4) };
}

function partyOf(segment: X12Segment): Party271 {
  const firstName = optional(element(segment, 4));
  const idQualifier = optional(element(segment, 8));
  const id = optional(element(segment, 9));
  return {
    entity: element(segment, 1),
    name: element(segment, 3),
    ...(firstName ? { firstName } : {}),
    ...(idQualifier ? { idQualifier } : {}),
    ...(id ? { id } : {}),
  };
}

interface BenefitDraft extends Omit<
  Benefit271,
  'dates' | 'references' | 'messages' | 'rejections' | 'entities'
> {
  dates: Date271[];
  references: { qualifier: string; value: string }[];
  messages: string[];
  rejections: Rejection271[];
  entities: Party271[];
}

interface LevelDraft {
  level: Level271Code;
  id: string;
  parent?: string;
  party?: Party271;
  traces: Trace271[];
  rejections: Rejection271[];
  references: { qualifier: string; value: string }[];
  birthDate?: string;
  gender?: string;
  dates: Date271[];
  benefits: BenefitDraft[];
}

function benefitOf(segment: X12Segment): BenefitDraft {
  const quantityQualifier = element(segment, 9);
  const quantity = decimal(segment, 10);
  if ((quantityQualifier === '') !== (quantity === undefined)) {
    fail(segment, 'EB09 and EB10 go together');
  }
  const percent = decimal(segment, 8);
  const amount = decimal(segment, 7);
  const procedureParts = element(segment, 13) === '' ? [] : components(segment, 13);
  const [qualifier = '', code = '', ...modifiers] = procedureParts;
  const optionalFields = {
    coverageLevel: optional(element(segment, 2)),
    insuranceType: optional(element(segment, 4)),
    planDescription: optional(element(segment, 5)),
    timePeriod: optional(element(segment, 6)),
    authorizationRequired: optional(element(segment, 11)),
    inNetwork: optional(element(segment, 12)),
  };
  return {
    code: element(segment, 1),
    serviceTypes: element(segment, 3) === '' ? [] : repetitions(segment, 3).filter((s) => s !== ''),
    ...Object.fromEntries(Object.entries(optionalFields).filter(([, v]) => v !== undefined)),
    ...(amount !== undefined ? { amount } : {}),
    ...(percent !== undefined ? { percent } : {}),
    ...(quantity !== undefined ? { quantity: { qualifier: quantityQualifier, value: quantity } } : {}),
    ...(procedureParts.length > 0
      ? { procedure: { qualifier, code, modifiers: modifiers.filter((m) => m !== '') } }
      : {}),
    dates: [],
    references: [],
    messages: [],
    rejections: [],
    entities: [],
  };
}

/** Reads the 271s of an interchange (or several). Never throws for bad input: it says what is wrong. */
export async function read271(
  input: string | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): Promise<Read271Result> {
  const responses: Response271[] = [];
  let response: { control: string; reference: string; levels: LevelDraft[] } | undefined;
  let level: LevelDraft | undefined;
  let benefit: BenefitDraft | undefined;
  let inEntities = false;
  let sawNameOfLevel = false;
  try {
    for await (const s of checkEnvelopes(parseX12(typeof input === 'string' ? [input] : input))) {
      switch (s.id) {
        case 'ISA':
        case 'IEA':
        case 'GE':
        case 'TA1':
          break;
        case 'GS':
          if (element(s, 1) !== 'HB') {
            fail(s, `GS01 "${element(s, 1)}" is not HB (eligibility, coverage or benefit information)`);
          }
          if (!element(s, 8).startsWith(IMPLEMENTATION_270_271)) {
            fail(s, `GS08 "${element(s, 8)}" is not ${IMPLEMENTATION_270_271}`);
          }
          break;
        case 'ST':
          if (element(s, 1) !== '271') {
            fail(s, `ST01 "${element(s, 1)}" is not 271`);
          }
          if (element(s, 3) !== IMPLEMENTATION_270_271) {
            fail(s, `ST03 "${element(s, 3)}" is not ${IMPLEMENTATION_270_271}`);
          }
          response = { control: element(s, 2), reference: '', levels: [] };
          level = undefined;
          benefit = undefined;
          inEntities = false;
          break;
        case 'BHT':
          if (!response || response.levels.length > 0) {
            fail(s, 'BHT must follow ST');
          }
          if (element(s, 1) !== '0022') {
            fail(s, `BHT01 "${element(s, 1)}" is not 0022`);
          }
          response.reference = element(s, 3);
          break;
        case 'HL': {
          if (!response) {
            fail(s, 'HL before ST');
          }
          const code = LEVELS[element(s, 3)];
          if (!code) {
            fail(s, `HL03 "${element(s, 3)}" is not a 271 level (20, 21, 22, 23)`);
          }
          const parent = optional(element(s, 2));
          if (parent !== undefined && !response.levels.some((l) => l.id === parent)) {
            fail(s, `HL02 "${parent}" names no earlier level`);
          }
          level = {
            level: code,
            id: element(s, 1),
            ...(parent !== undefined ? { parent } : {}),
            traces: [],
            rejections: [],
            references: [],
            dates: [],
            benefits: [],
          };
          response.levels.push(level);
          benefit = undefined;
          inEntities = false;
          sawNameOfLevel = false;
          break;
        }
        case 'TRN':
          if (!level || sawNameOfLevel || (level.level !== 'subscriber' && level.level !== 'dependent')) {
            fail(s, 'TRN belongs before the name of a subscriber or dependent level');
          }
          level.traces.push({ type: element(s, 1), number: element(s, 2), assigner: element(s, 3) });
          break;
        case 'AAA':
          if (!level) {
            fail(s, 'AAA outside a level');
          }
          (benefit ?? level).rejections.push(rejectionOf(s));
          break;
        case 'NM1':
          if (!level) {
            fail(s, 'NM1 outside a level');
          }
          if (benefit) {
            if (!inEntities) {
              fail(s, 'an NM1 after an EB must be inside LS … LE (loop 2120)');
            }
            benefit.entities.push(partyOf(s));
          } else {
            if (sawNameOfLevel) {
              fail(s, 'a second name for the same level');
            }
            level.party = partyOf(s);
            sawNameOfLevel = true;
          }
          break;
        case 'REF':
          if (!level) {
            fail(s, 'REF outside a level');
          }
          (benefit ?? level).references.push({ qualifier: element(s, 1), value: element(s, 2) });
          break;
        case 'DMG':
          if (!level || benefit) {
            fail(s, 'DMG belongs to a name loop (2100C/2100D)');
          }
          if (element(s, 1) === 'D8' && element(s, 2) !== '') {
            level.birthDate = isoDate(s, element(s, 2));
          }
          if (element(s, 3) !== '') {
            level.gender = element(s, 3);
          }
          break;
        case 'DTP':
          if (!level) {
            fail(s, 'DTP outside a level');
          }
          (benefit ?? level).dates.push(dateOf(s));
          break;
        case 'EB':
          if (!level || (level.level !== 'subscriber' && level.level !== 'dependent')) {
            fail(s, 'EB belongs to a subscriber or dependent level');
          }
          if (inEntities) {
            fail(s, 'an EB inside LS … LE');
          }
          if (element(s, 1) === '') {
            fail(s, 'EB01 is required');
          }
          benefit = benefitOf(s);
          level.benefits.push(benefit);
          break;
        case 'MSG':
          if (!benefit) {
            fail(s, 'MSG belongs to an EB loop (2110)');
          }
          benefit.messages.push(element(s, 1));
          break;
        case 'LS':
          if (!benefit || inEntities) {
            fail(s, 'LS must follow an EB loop');
          }
          inEntities = true;
          break;
        case 'LE':
          if (!inEntities) {
            fail(s, 'LE without LS');
          }
          inEntities = false;
          break;
        case 'SE':
          if (!response) {
            fail(s, 'SE without ST');
          }
          if (inEntities) {
            fail(s, 'the transaction ends inside LS … LE');
          }
          responses.push(finish(response));
          response = undefined;
          level = undefined;
          benefit = undefined;
          break;
        default:
          if (PASSED.has(s.id) && level) {
            break;
          }
          fail(s, `not a segment of a ${IMPLEMENTATION_270_271} 271 here`);
      }
    }
  } catch (err) {
    if (err instanceof Problem) {
      return { ok: false, problem: err.message };
    }
    if (err instanceof X12SyntaxError) {
      return { ok: false, problem: err.message, offset: err.offset };
    }
    throw err;
  }
  if (responses.length === 0) {
    return { ok: false, problem: 'the interchange holds no 271 transaction' };
  }
  return { ok: true, responses };
}

function finish(draft: { control: string; reference: string; levels: LevelDraft[] }): Response271 {
  // The drafts were built in place; as returned they are read-only data.
  const levels: Level271[] = draft.levels.map((l) => ({ ...l, benefits: l.benefits.map((b) => ({ ...b })) }));
  return { control: draft.control, reference: draft.reference, levels };
}
