/**
 * The sandbox X12 payer's connection to Dripline, as a clearinghouse would have one: its own SMART
 * Backend Services client of Dripline (a client file: id, token URL, private key), over HTTP only.
 * Each round it takes the ready claims of every X12-channel payer it serves as a batch
 * (`POST /api/claims/x12-batches`, then the file from `GET /api/claims/x12-batches/{id}`), reads
 * and adjudicates them (./read837.ts, ./adjudicator.ts), and once its processing delay is over sends
 * the 835 of what it adjudicated (./remit.ts, the 835 writer) to `POST /api/remittance/835`. A
 * remittance Dripline did not take (a network error, a 5xx) is sent again on the next round; the
 * same 835 twice is a duplicate there and changes nothing.
 */
import { requestBackendToken } from '../../../cli/token-command.ts';
import type { ClientFile } from '../../../cli/token-command.ts';
import { localDate } from '../../../time/zone.ts';
import type { ClaimPaymentInput } from '../../../x12/835/write835.ts';
import { write835ToString } from '../../../x12/835/write835.ts';
import type { X12Adjudicator } from './adjudicator.ts';
import { read837 } from './read837.ts';
import { remittanceOf } from './remit.ts';

export interface ClearinghousePayer {
  /** Dripline's payer slug (config `payers[].id`) whose batches it takes. */
  readonly slug: string;
  readonly payerId: string;
  readonly name: string;
}

export interface ClearinghouseOptions {
  /** Dripline's base URL. */
  readonly driplineUrl: string;
  /** The clearinghouse's client of Dripline (scopes for x12-batches and the 835 intake). */
  readonly client: ClientFile;
  readonly payers: readonly ClearinghousePayer[];
  readonly adjudicator: X12Adjudicator;
  /** The payee of its 835s (the tenant's billing provider). */
  readonly payee: { readonly name: string; readonly npi: string };
  /** The payer's clock (Dripline's): dates, when an 835 is due, how long a token lasts. */
  readonly now: () => Date;
  readonly timeZone: string;
  /** How long after pick-up the 835 goes (the payer's processing time, on `now`), ms. */
  readonly delayMs: number;
  /**
   * What the payer does besides answering, per remittance (the sandbox day's variety): claims to
   * rework (reversal + correction) and provider-level adjustments. Called once per 835.
   */
  readonly extras?: (payments: readonly ClaimPaymentInput[]) => {
    readonly reprocess?: readonly string[];
    readonly providerAdjustments?: readonly { reason: string; amount: number; reference?: string }[];
  };
  readonly log?: (obj: object, msg: string) => void;
}

interface Pending {
  readonly payer: ClearinghousePayer;
  readonly due: number;
  readonly trace: string;
  readonly text?: string;
  readonly payments: ClaimPaymentInput[];
}

export interface ClearinghouseCounts {
  readonly batches: number;
  readonly claims: number;
  readonly remittances: number;
}

export class SandboxClearinghouse {
  readonly #o: ClearinghouseOptions;
  readonly #pending: Pending[] = [];
  #token: { value: string; until: number } | undefined;
  #counts = { batches: 0, claims: 0, remittances: 0 };
  #sequence = 0;
  #interchanges = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ClearinghouseOptions) {
    this.#o = options;
  }

  counts(): ClearinghouseCounts {
    return { ...this.#counts };
  }

  /** Remittances adjudicated but not yet taken by Dripline. */
  pending(): number {
    return this.#pending.length;
  }

  async #bearer(): Promise<string> {
    const at = this.#o.now().getTime();
    if (!this.#token || this.#token.until <= at) {
      const token = await requestBackendToken(this.#o.client, undefined, this.#o.now);
      this.#token = { value: token.access_token, until: at + ((token.expires_in ?? 300) - 30) * 1000 };
    }
    return this.#token.value;
  }

  async #fetch(
    path: string,
    init: { method?: string; body?: string; type?: string } = {},
  ): Promise<Response> {
    return fetch(`${this.#o.driplineUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${await this.#bearer()}`,
        ...(init.type ? { 'content-type': init.type } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  }

  /** One round: pick up new batches, send the remittances that are due. */
  async runOnce(): Promise<void> {
    for (const payer of this.#o.payers) {
      for (const kind of ['837P', '837I'] as const) {
        await this.#pickUp(payer, kind);
      }
    }
    await this.#sendDue();
  }

  async #pickUp(payer: ClearinghousePayer, kind: '837P' | '837I'): Promise<void> {
    const created = await this.#fetch('/api/claims/x12-batches', {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ payer: payer.slug, kind }),
    });
    if (created.status !== 201) {
      await created.arrayBuffer(); // 404: nothing ready; anything else: next round
      return;
    }
    const batch = (await created.json()) as { file: string };
    const file = await this.#fetch(batch.file);
    if (!file.ok) {
      this.#o.log?.({ status: file.status, batch: batch.file }, 'sandbox X12 payer: batch file not readable');
      return;
    }
    const received = await read837(await file.text());
    const today = localDate(this.#o.now(), this.#o.timeZone);
    const payments = received.flatMap((r) => this.#o.adjudicator.answer(r, today));
    this.#counts.batches += 1;
    this.#counts.claims += received.length;
    this.#sequence += 1;
    this.#pending.push({
      payer,
      due: this.#o.now().getTime() + this.#o.delayMs,
      trace: `SBX835${today.replaceAll('-', '')}${String(this.#sequence).padStart(4, '0')}`,
      payments,
    });
  }

  async #sendDue(): Promise<void> {
    const now = this.#o.now().getTime();
    for (let i = 0; i < this.#pending.length;) {
      const item = this.#pending[i] as Pending;
      if (item.due > now) {
        i++;
        continue;
      }
      const text = item.text ?? (await this.#render(item));
      this.#pending[i] = { ...item, text };
      const sent = await this.#fetch(`/api/remittance/835?name=${item.trace}.835`, {
        method: 'POST',
        type: 'application/edi-x12',
        body: text,
      }).catch(() => undefined);
      if (sent && (sent.status === 202 || sent.status === 200)) {
        await sent.arrayBuffer();
        this.#pending.splice(i, 1);
        this.#counts.remittances += 1;
        continue;
      }
      this.#o.log?.(
        { status: sent?.status, body: sent ? (await sent.text()).slice(0, 500) : undefined },
        'sandbox X12 payer: remittance not taken; sent again next round',
      );
      i++;
    }
  }

  async #render(item: Pending): Promise<string> {
    const today = localDate(this.#o.now(), this.#o.timeZone);
    this.#interchanges += 1;
    const extras = this.#o.extras?.(item.payments) ?? {};
    const reworked = (extras.reprocess ?? []).flatMap((n) => this.#o.adjudicator.reprocess(n, today) ?? []);
    return write835ToString(
      [
        remittanceOf({
          payerName: item.payer.name.toUpperCase(),
          payerId: item.payer.payerId,
          payeeName: this.#o.payee.name.toUpperCase(),
          payeeNpi: this.#o.payee.npi,
          trace: item.trace,
          paymentDate: today,
          claims: [...item.payments, ...reworked],
          ...(extras.providerAdjustments ? { providerAdjustments: extras.providerAdjustments } : {}),
        }),
      ],
      {
        sender: { id: item.payer.payerId },
        receiver: { id: this.#o.payee.npi },
        controlNumbers: { isa: this.#interchanges, gs: this.#interchanges },
        now: this.#o.now(),
        usage: 'T',
      },
    );
  }

  /** Runs a round every `everyMs` until stopped. */
  start(everyMs: number): void {
    const tick = (): void => {
      this.#running = this.runOnce()
        .catch((err: unknown) =>
          this.#o.log?.({ err: (err as Error).message }, 'sandbox X12 payer round failed'),
        )
        .finally(() => {
          if (this.#timer !== undefined) {
            this.#timer = setTimeout(tick, everyMs);
          }
        });
    };
    this.#timer = setTimeout(tick, everyMs);
  }

  async stop(): Promise<void> {
    const timer = this.#timer;
    this.#timer = undefined;
    if (timer) {
      clearTimeout(timer);
    }
    await this.#running;
  }
}
