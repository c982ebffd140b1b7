/**
 * The sandbox payers' enrollment and benefit plans: who is a member (member id, name, birth date,
 * plan dates, still enrolled or ended), and what each kind of plan makes the member pay (deductible,
 * out-of-pocket maximum, co-insurance, co-payment) and which services and drugs it authorizes first.
 * The FHIR eligibility endpoint (./fhir.ts) and the X12 payer (./x12-payer.ts) answer from the same
 * data. Deterministic: whether a member has met the deductible follows from the member id.
 *
 * SANDBOX policy, illustrative amounts: Medicare Part B 20% co-insurance after its annual deductible
 * and no out-of-pocket maximum (Original Medicare has none); Medicaid no cost sharing; commercial
 * an annual deductible, 20% co-insurance and an out-of-pocket maximum, chemotherapy (service type
 * 78) authorized first.
 */
import { createHash } from 'node:crypto';
import type { Coverage, Organization, Patient } from '@medplum/fhirtypes';
import type { PayerKind } from '../tables.ts';

export interface SandboxMember {
  readonly memberId: string;
  /** The payer's id (the Organization's payer id). */
  readonly payerId: string;
  readonly lastName: string;
  readonly firstName?: string;
  /** YYYY-MM-DD. */
  readonly birthDate?: string;
  readonly gender?: 'F' | 'M' | 'U';
  readonly planStart: string;
  /** The last day covered, when the payer ended the coverage. */
  readonly planEnd?: string;
}

export interface SandboxBenefitPlan {
  readonly name: string;
  /** Annual (calendar year) deductible. */
  readonly deductible: number;
  /** Annual out-of-pocket maximum; none for Original Medicare. */
  readonly outOfPocket?: number;
  /** The member's share after the deductible, 0..1. */
  readonly coinsurance: number;
  /** Per visit. */
  readonly copay: number;
  /** Service types (X12 1365) the plan authorizes before the visit. */
  readonly authorizationServiceTypes: readonly string[];
}

export const BENEFIT_PLANS: Readonly<Record<PayerKind, SandboxBenefitPlan>> = {
  medicare: {
    name: 'MEDICARE PART B',
    deductible: 283,
    coinsurance: 0.2,
    copay: 0,
    authorizationServiceTypes: [],
  },
  medicaid: {
    name: 'MEDICAID FFS',
    deductible: 0,
    coinsurance: 0,
    copay: 0,
    authorizationServiceTypes: ['78'],
  },
  commercial: {
    name: 'PPO GOLD',
    deductible: 1500,
    outOfPocket: 6000,
    coinsurance: 0.2,
    copay: 0,
    authorizationServiceTypes: ['78'],
  },
};

/** What a member owes this year, as of the day asked. */
export interface MemberBenefits {
  readonly plan: SandboxBenefitPlan;
  readonly deductibleRemaining: number;
  readonly outOfPocketRemaining?: number;
}

/** Whether the member has met the deductible: half the members, decided by their member id. */
export function deductibleMet(memberId: string): boolean {
  return (createHash('sha256').update(memberId).digest()[0] ?? 0) % 2 === 0;
}

export function benefitsOf(member: SandboxMember, kind: PayerKind): MemberBenefits {
  const plan = BENEFIT_PLANS[kind];
  const met = deductibleMet(member.memberId);
  const deductibleRemaining = met ? 0 : plan.deductible;
  return {
    plan,
    deductibleRemaining,
    ...(plan.outOfPocket !== undefined
      ? { outOfPocketRemaining: met ? plan.outOfPocket - plan.deductible : plan.outOfPocket }
      : {}),
  };
}

/** Whether the member is covered on `date`. */
export function coveredOn(member: SandboxMember, date: string): boolean {
  return date >= member.planStart && (member.planEnd === undefined || date <= member.planEnd);
}

const norm = (value: string | undefined): string => (value ?? '').trim().toUpperCase();

export type MemberLookup =
  | { readonly found: true; readonly member: SandboxMember }
  | { readonly found: false; readonly reason: '72' | '75' | '71' | '73' };

/** The payers' roster. */
export class Enrollment {
  readonly #members = new Map<string, SandboxMember>();

  constructor(members: readonly SandboxMember[] = []) {
    for (const member of members) {
      this.add(member);
    }
  }

  add(member: SandboxMember): void {
    this.#members.set(`${member.payerId}|${norm(member.memberId)}`, member);
  }

  get size(): number {
    return this.#members.size;
  }

  /**
   * The member with this id at this payer, checked against what the asker says (X12 AAA reasons:
   * 72 no member id, 75 not found, 71 birth date differs, 73 name differs).
   */
  find(payerId: string, query: { memberId?: string; lastName?: string; birthDate?: string }): MemberLookup {
    if (!query.memberId) {
      return { found: false, reason: '72' };
    }
    const member = this.#members.get(`${payerId}|${norm(query.memberId)}`);
    if (!member) {
      return { found: false, reason: '75' };
    }
    if (query.birthDate && member.birthDate && query.birthDate !== member.birthDate) {
      return { found: false, reason: '71' };
    }
    if (query.lastName && norm(query.lastName) !== norm(member.lastName)) {
      return { found: false, reason: '73' };
    }
    return { found: true, member };
  }
}

/**
 * The roster from what the sandbox EHR holds (each Coverage's member id, payer and beneficiary, as
 * a payer's enrollment file would have them) and what the payers changed since (coverages ended).
 */
export function enrollmentFrom(input: {
  readonly coverages: readonly Coverage[];
  readonly patients: readonly Patient[];
  readonly organizations: readonly Organization[];
  /** The Organization identifier system that holds payer ids. */
  readonly payerIdSystem: string;
  readonly ended: readonly { readonly coverage: string; readonly ended: string }[];
}): SandboxMember[] {
  const payerOf = new Map(
    input.organizations.map((o) => [
      `Organization/${o.id ?? ''}`,
      o.identifier?.find((i) => i.system === input.payerIdSystem)?.value,
    ]),
  );
  const patients = new Map(input.patients.map((p) => [`Patient/${p.id ?? ''}`, p]));
  const ended = new Map(input.ended.map((e) => [e.coverage, e.ended]));
  const members: SandboxMember[] = [];
  for (const coverage of input.coverages) {
    const memberId = coverage.subscriberId ?? coverage.identifier?.[0]?.value;
    const payerId = payerOf.get(coverage.payor?.[0]?.reference ?? '');
    const patient = patients.get(coverage.beneficiary.reference ?? '');
    const name = patient?.name?.[0];
    if (!memberId || !payerId || !name?.family) {
      continue;
    }
    const end = ended.get(coverage.id ?? '') ?? coverage.period?.end?.slice(0, 10);
    members.push({
      memberId,
      payerId,
      lastName: name.family,
      ...(name.given?.[0] ? { firstName: name.given[0] } : {}),
      ...(patient?.birthDate ? { birthDate: patient.birthDate } : {}),
      ...(patient?.gender
        ? { gender: patient.gender === 'female' ? 'F' : patient.gender === 'male' ? 'M' : 'U' }
        : {}),
      planStart: coverage.period?.start?.slice(0, 10) ?? '1900-01-01',
      ...(end ? { planEnd: end } : {}),
    });
  }
  return members;
}
