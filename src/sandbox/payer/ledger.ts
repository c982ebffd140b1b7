/**
 * The sandbox payer's memory: every claim it adjudicated, its answer, the submission that carried
 * it, and what it knows of each claim as the original of a later replacement (7) or void (8).
 * A real payer never forgets a claim it paid: with a journal file (one JSON line per adjudication,
 * appended before the answer goes out) the payer comes back from a restart knowing them all, so a
 * corrected claim sent after `npm start` was stopped and started again still names a known
 * original (no CARC 129), a resent submission is still answered idempotently, and payer claim
 * numbers keep counting up instead of starting again.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { PriorClaim } from './results.ts';
import { supersede } from './reversals.ts';

export interface Submission {
  /** Hash of the payer kind and the request body: the same submission must carry the same body. */
  readonly hash: string;
  readonly responseId: string;
}

/** One adjudication, as recorded (and as journalled). */
export interface Adjudication {
  /** The submission key: the Claim's identifiers (else its id, else the body) and the Idempotency-Key. */
  readonly key: string;
  readonly hash: string;
  readonly claim: Claim & { readonly id: string };
  readonly response: ClaimResponse & { readonly id: string };
  /** The Claim's identifiers, `system|value` (the ClaimResponse search matches them). */
  readonly identifiers: readonly string[];
  /** What the payer knows of this claim from now on. */
  readonly prior: PriorClaim;
  /** The original this claim reversed (a replacement or void), by its payer claim number. */
  readonly reversal?: { readonly controlNumber: string; readonly frequency: '7' | '8' };
}

const JOURNAL_VERSION = 1;

export class PayerLedger {
  readonly claims = new Map<string, Claim>();
  readonly responses = new Map<string, ClaimResponse>();
  readonly submissions = new Map<string, Submission>();
  /** Every adjudicated claim, oldest first (originals of replacements and voids; paid lines). */
  readonly knownClaims: PriorClaim[] = [];
  /** ClaimResponse id → the identifiers of the Claim it answers (for `identifier` search). */
  readonly requestIdentifiers = new Map<string, readonly string[]>();
  readonly #journal: string | undefined;
  #count = 0;

  /** A ledger kept only in memory, or one that reads `journal` back and appends to it. */
  constructor(journal?: string) {
    this.#journal = journal;
    if (!journal) {
      return;
    }
    mkdirSync(path.dirname(journal), { recursive: true });
    if (!existsSync(journal)) {
      return;
    }
    const lines = readFileSync(journal, 'utf8').split('\n');
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') {
        continue;
      }
      let entry: Adjudication & { v?: number };
      try {
        entry = JSON.parse(line) as Adjudication & { v?: number };
      } catch (err) {
        if (index === lines.length - 1) {
          break; // the line being written when the process was killed: never answered
        }
        throw new Error(`sandbox payer journal ${journal}, line ${index + 1}: ${(err as Error).message}`);
      }
      if (entry.v !== JOURNAL_VERSION) {
        throw new Error(
          `sandbox payer journal ${journal}, line ${index + 1}: unknown version ${String(entry.v)}`,
        );
      }
      this.#apply(entry);
    }
  }

  /** How many claims were adjudicated (the counter in payer claim numbers). */
  get count(): number {
    return this.#count;
  }

  /** Remembers an adjudication (journalled first, so that nothing answered is forgotten). */
  record(entry: Adjudication): void {
    if (this.#journal) {
      appendFileSync(this.#journal, `${JSON.stringify({ v: JOURNAL_VERSION, ...entry })}\n`);
    }
    this.#apply(entry);
  }

  #apply(entry: Adjudication): void {
    const { reversal } = entry;
    if (reversal) {
      const at = this.knownClaims.findIndex((k) => k.controlNumber === reversal.controlNumber);
      const original = this.knownClaims[at];
      if (original) {
        this.knownClaims[at] = supersede(original, entry.prior.controlNumber, reversal.frequency);
      }
    }
    this.knownClaims.push(entry.prior);
    this.claims.set(entry.claim.id, entry.claim);
    this.responses.set(entry.response.id, entry.response);
    this.requestIdentifiers.set(entry.response.id, entry.identifiers);
    this.submissions.set(entry.key, { hash: entry.hash, responseId: entry.response.id });
    this.#count++;
  }
}
