/**
 * The appeal packet's content, from facts gathered by ./packet-facts.ts: the letter (provider,
 * patient, claim and payer numbers; the denied or underpaid lines and amounts; the payer's reason
 * codes with our own words; the argument chosen by the denial's category and filled from the
 * record) and an index of the attachments (the FHIR resources, summarised readably). Pure.
 *
 * Arguments follow CMS Medicare Claims Processing Manual ch. 29 §310.2 (what a redetermination
 * request contains: beneficiary, Medicare number, services and dates, the items in dispute and why
 * the provider disagrees) and the coding rules the claim lines were built by (their rationale: the
 * documented start and stop times and the minutes that decided each administration code).
 */
import type { BillingProvider } from '../../config/billing.ts';
import type { Block } from '../documents/pdf.ts';
import { usd } from '../documents/pdf.ts';
import type { WorkItemView } from '../work/items.ts';
import type { AppealView } from './task.ts';

export interface PacketLine {
  readonly sequence: number;
  readonly code: string;
  readonly label: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly date: string;
  readonly billed: number;
  /** The coding rule that chose the code, its text (documented times) and the minutes counted. */
  readonly rationale?: { readonly rule: string; readonly text: string; readonly minutes?: number };
  /** The drug's NDC and quantity given (a drug line), and whether it is discarded drug (JW). */
  readonly ndc?: { readonly code: string; readonly quantity?: string };
  readonly waste: boolean;
}

export interface PacketFacts {
  readonly today: string;
  readonly provider: BillingProvider;
  readonly payer: { readonly name: string; readonly payerId: string };
  readonly patient: { readonly name: string; readonly birthDate?: string; readonly memberId?: string };
  readonly claim: {
    readonly id: string;
    readonly billed: number;
    readonly from: string;
    readonly to: string;
    readonly preAuthRefs: readonly string[];
    readonly lines: readonly PacketLine[];
  };
  readonly appeal: AppealView;
  readonly levelLabel: string;
  readonly item: WorkItemView;
  /** The payer's codes in our words: "CO-4", "N362" … */
  readonly reasons: readonly { readonly code: string; readonly words: string }[];
  readonly authorizations: readonly { readonly number: string; readonly covers: readonly string[] }[];
  readonly firstSubmitted?: string;
  readonly attachments: readonly { readonly reference: string; readonly summary: string }[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function lineFacts(lines: readonly PacketLine[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.rationale) {
      out.push(
        `Line ${l.sequence} ${l.code} (${l.label}): ${l.rationale.text}${l.rationale.minutes !== undefined ? ` — ${l.rationale.minutes} minutes counted` : ''} (rule ${l.rationale.rule}).`,
      );
    }
    if (l.ndc) {
      out.push(
        `Line ${l.sequence} ${l.code} (${l.label}): ${l.waste ? 'discarded (wasted) drug, JW' : 'drug given'}, ${l.units} billing unit(s), NDC ${l.ndc.code}${l.ndc.quantity ? ` ${l.ndc.quantity}` : ''}.`,
      );
    }
  }
  return out;
}

/** The argument for the item's category, filled from the facts. */
export function argumentFor(f: PacketFacts): { heading: string; paragraphs: string[]; facts: string[] } {
  const appealed = f.item.lines.map((l) => str(l['code'])).filter((c) => c !== '');
  const relevant = f.claim.lines.filter((l) => appealed.length === 0 || appealed.includes(l.code));
  const facts = lineFacts(relevant.length > 0 ? relevant : f.claim.lines);
  const auth = f.authorizations.map(
    (a) => `Authorization ${a.number} on file covers ${a.covers.join(', ')}.`,
  );
  switch (f.item.queue) {
    case 'authorization':
      return {
        heading: 'The services were authorized',
        paragraphs: [
          f.authorizations.length > 0
            ? `The payer authorized these services before they were given. ${auth.join(' ')} ${f.claim.preAuthRefs.length > 0 ? `The claim reported authorization ${f.claim.preAuthRefs.join(', ')}.` : ''} We ask that the lines be reprocessed under that authorization.`
            : 'We ask the payer to reprocess these lines: the authorization history is attached, and a retro-authorization request accompanies this appeal.',
        ],
        facts: [...auth, ...facts],
      };
    case 'coding':
    case 'bundling':
      return {
        heading: 'The codes and modifiers follow the documented administration',
        paragraphs: [
          'Each administration code and modifier on this claim was chosen from the documented start and stop times of the infusion and the drug given, by the published coding rule named below (CMS Claims Processing Manual ch. 12 §30.5; NCCI policy manual ch. XI). The record supports each line as billed.',
        ],
        facts,
      };
    case 'documentation':
    case 'medical-necessity':
      return {
        heading: 'The record documents the service, the dose and any waste',
        paragraphs: [
          'The medical record documents the order, the drug and dose administered, the start and stop times and any discarded amount (JW, CMS Claims Processing Manual ch. 17 §40). The services were reasonable and necessary for the diagnoses on the claim.',
        ],
        facts,
      };
    case 'timely-filing':
      return {
        heading: 'The claim was filed in time',
        paragraphs: [
          `The claim was first submitted on ${f.firstSubmitted ?? '(see the attached claim history)'}, within the payer's filing limit counted from the date of service ${f.claim.from}.`,
        ],
        facts,
      };
    case 'underpayment': {
      const terms = f.item.lines.map(
        (l) =>
          `Line ${str(l['itemSequence'])} ${str(l['code'])}: paid ${usd(num(l['paid']))}, the contract (${str(l['contract'])}, term "${str(l['termDescription'])}") pays ${usd(num(l['expectedPayment']))}; ${usd(num(l['variance']))} short.`,
      );
      return {
        heading: 'The payment is below the contracted rate',
        paragraphs: [
          `Our agreement with ${f.payer.name} sets the payment for these services. The lines below were paid less than the contract terms named, by ${usd(f.appeal.denied)} in all. We ask for the difference.`,
        ],
        facts: [...terms, ...facts],
      };
    }
    default:
      return {
        heading: 'Why the decision should be reversed',
        paragraphs: [
          'The services were given as billed and are covered under the patient’s plan. The record and the claim history are attached; we ask that the lines be reprocessed.',
        ],
        facts: [...auth, ...facts],
      };
  }
}

export function appealPacket(f: PacketFacts): Block[] {
  const p = f.provider;
  const arg = argumentFor(f);
  const lines = f.item.lines.map((l) => {
    const code = str(l['code']);
    const label = f.claim.lines.find((c) => c.code === code)?.label ?? code;
    const position = num(l['position']);
    return [
      position === 0 && !l['itemSequence'] ? 'Claim' : str(l['itemSequence'] ?? l['position']),
      code ? `${code} ${label}` : 'Whole claim',
      str(l['modifiers']),
      str(l['serviceDate']),
      usd(num(l['submitted'])),
      usd(num(l['paid'])),
      usd(num(l['denied'] ?? l['variance'])),
      str(l['adjustments'])
        .replace(/:[-\d.]+/g, '')
        .replace(/,/g, ' '),
    ];
  });
  return [
    { kind: 'title', text: `Request for ${f.levelLabel}` },
    {
      kind: 'fields',
      rows: [
        ['Date', f.today],
        [
          'From',
          `${p.name}, ${p.address.line.join(', ')}, ${p.address.city}, ${p.address.state} ${p.address.postalCode}`,
        ],
        ['Provider NPI', p.npi],
        ['Tax ID', p.taxId],
        ['To', `${f.payer.name} (payer ID ${f.payer.payerId})`],
      ],
    },
    { kind: 'heading', text: 'Claim appealed' },
    {
      kind: 'fields',
      rows: [
        ['Patient', f.patient.name],
        ...(f.patient.birthDate ? [['Date of birth', f.patient.birthDate] as const] : []),
        ...(f.patient.memberId ? [['Member ID', f.patient.memberId] as const] : []),
        ['Our claim number', f.claim.id],
        ...(f.item.payerClaimNumber ? [['Payer claim number', f.item.payerClaimNumber] as const] : []),
        ['Dates of service', f.claim.from === f.claim.to ? f.claim.from : `${f.claim.from} to ${f.claim.to}`],
        ['Billed', usd(f.claim.billed)],
        ['Payer decision dated', f.appeal.decided ?? ''],
        ['Amount appealed', usd(f.appeal.denied)],
        ['Filing deadline', f.appeal.deadline],
      ],
    },
    {
      kind: 'paragraph',
      text: `We ask ${f.payer.name} for a ${f.levelLabel.toLowerCase()} of its decision on the lines below (${f.appeal.rule ?? ''}).`,
    },
    { kind: 'heading', text: f.item.kind === 'denial' ? 'Lines denied' : 'Lines underpaid' },
    {
      kind: 'table',
      columns: [
        { title: 'Line', width: 5 },
        { title: 'Service', width: 26 },
        { title: 'Mod.', width: 7 },
        { title: 'Date', width: 12 },
        { title: 'Billed', width: 11, align: 'right' },
        { title: 'Paid', width: 10, align: 'right' },
        { title: f.item.kind === 'denial' ? 'Denied' : 'Short', width: 10, align: 'right' },
        { title: 'Codes', width: 12 },
      ],
      rows: lines,
    },
    { kind: 'heading', text: "The payer's reasons" },
    { kind: 'list', items: f.reasons.map((r) => `${r.code}: ${r.words}`) },
    { kind: 'heading', text: arg.heading },
    ...arg.paragraphs.map((text): Block => ({ kind: 'paragraph', text })),
    ...(arg.facts.length > 0 ? [{ kind: 'list', items: arg.facts } as const] : []),
    {
      kind: 'paragraph',
      text: `Please reprocess the claim and pay ${usd(f.appeal.denied)}. Questions: ${p.name}${p.phone ? `, ${p.phone}` : ''}.`,
    },
    { kind: 'heading', text: 'Attachments' },
    { kind: 'list', items: f.attachments.map((a, i) => `${i + 1}. ${a.summary} (${a.reference})`) },
  ];
}
