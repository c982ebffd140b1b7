/**
 * Notification delivery for the sandbox EHR: an in-memory queue that POSTs to subscription
 * endpoints over real HTTP, one delivery at a time per subscription (so without faults a
 * receiver sees event numbers in order), with retries and exponential backoff, injected faults
 * (drop, duplicate, reorder, delay) and periodic heartbeats.
 *
 * Retries release the per-subscription line while they wait, so a retried notification can
 * arrive after a newer one, as with real senders (at-least-once, unordered).
 *
 * Sent with node:http(s) and a keep-alive agent rather than fetch: the same POST on the wire, at
 * a fraction of undici's CPU per request (every sandbox day and kill -9 proof sends thousands).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export type DeliveryKind = 'handshake' | 'heartbeat' | 'event-notification' | 'classic';

export interface DeliveryRequest {
  readonly subscriptionId: string;
  readonly kind: DeliveryKind;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** '' sends no body (HAPI-style classic ping). */
  readonly body: string;
  /** For event notifications: the event number carried (for logs and tests). */
  readonly eventNumber?: number;
  readonly timeoutMs?: number;
}

export interface DeliveryResult {
  /** true when the endpoint accepted it (handshake: exactly 200; others: 2xx), or it was dropped on purpose. */
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
  /** Dropped by the fault injector (never sent). */
  readonly dropped?: boolean;
  /** Not sent because `canSend` said no (subscription no longer active) or the queue stopped. */
  readonly cancelled?: boolean;
}

export interface FaultOptions {
  /** Fraction (0..1) of notifications silently never sent; the event counter still advanced. */
  dropRate?: number;
  /** Fraction (0..1) of notifications sent twice. */
  duplicateRate?: number;
  /** Hold each event notification until the next one of the same subscription, then send them swapped. */
  reorder?: boolean;
  /** Random delay before each send, [min, max] milliseconds. */
  delayMs?: [number, number];
  /** Source of randomness in [0, 1) (deterministic tests). Default Math.random. */
  random?: () => number;
  /**
   * A network partition between the EHR and its subscribers: every attempt fails as if the
   * endpoint could not be reached (nothing is sent), so retries run out and the subscription goes
   * to `error` like it would on a real server.
   */
  unreachable?: boolean;
}

export interface RetryOptions {
  /** Attempts per notification (handshakes are tried once). Default 4. */
  attempts?: number;
  /** Delay before the 2nd attempt; doubles each time. Default 500 ms. */
  baseDelayMs?: number;
  /**
   * Longest delay between two attempts, however many failed (capped exponential backoff, as
   * delivery services do). Default: no cap.
   */
  maxDelayMs?: number;
  /** Per-request timeout when the subscription sets none. Default 10 s. */
  timeoutMs?: number;
}

/** What one attempt came to: the endpoint's HTTP status, or the error when no answer came. */
export interface DeliveryAttemptOutcome {
  readonly status?: number;
  readonly error?: string;
}

export interface DeliveryLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DeliveryQueueOptions {
  readonly retry?: RetryOptions;
  /** Checked before every attempt: false cancels the delivery (e.g. the subscription left `active`). */
  readonly canSend: (request: DeliveryRequest) => boolean;
  /** Called once per delivery when it is over (success, final failure, drop, cancel); awaited before idle() resolves. */
  readonly onSettled: (request: DeliveryRequest, result: DeliveryResult) => void | Promise<void>;
  /**
   * Called after every attempt that was sent (or failed to be: refused, reset, timed out), with
   * the endpoint's status when it answered, else why not (heartbeat bookkeeping, observers).
   */
  readonly onAttempt?: (request: DeliveryRequest, outcome: DeliveryAttemptOutcome) => void;
  readonly logger?: DeliveryLogger;
}

/** How long a reordered notification waits for a successor before it is sent anyway. */
const REORDER_HOLD_MS = 150;
const FAULTABLE: ReadonlySet<DeliveryKind> = new Set(['heartbeat', 'event-notification', 'classic']);
const REORDERABLE: ReadonlySet<DeliveryKind> = new Set(['event-notification', 'classic']);

interface Held {
  readonly request: DeliveryRequest;
  readonly timer: NodeJS.Timeout;
}

export class DeliveryQueue {
  readonly #options: DeliveryQueueOptions;
  readonly #attempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  #faults: FaultOptions = {};
  readonly #lines = new Map<string, Promise<void>>();
  readonly #held = new Map<string, Held>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });
  #pending = 0;
  #waiters: (() => void)[] = [];
  #stopped = false;

  constructor(options: DeliveryQueueOptions) {
    this.#options = options;
    this.#attempts = Math.max(1, options.retry?.attempts ?? 4);
    this.#baseDelayMs = Math.max(0, options.retry?.baseDelayMs ?? 500);
    this.#maxDelayMs = Math.max(0, options.retry?.maxDelayMs ?? Number.POSITIVE_INFINITY);
    this.#timeoutMs = Math.max(1, options.retry?.timeoutMs ?? 10_000);
  }

  setFaults(faults: FaultOptions): void {
    this.#faults = { ...faults };
  }

  /** Queues one notification; never sends inside the caller's turn of the event loop. */
  enqueue(request: DeliveryRequest): void {
    if (this.#stopped) {
      return;
    }
    const faults = this.#faults;
    const random = faults.random ?? Math.random;
    this.#pending++;
    if (FAULTABLE.has(request.kind)) {
      if ((faults.dropRate ?? 0) > 0 && random() < (faults.dropRate ?? 0)) {
        this.#options.logger?.info(
          { subscriptionId: request.subscriptionId, kind: request.kind, eventNumber: request.eventNumber },
          'fault: notification dropped',
        );
        void this.#settle(request, { ok: true, attempts: 0, dropped: true });
        return;
      }
      if ((faults.duplicateRate ?? 0) > 0 && random() < (faults.duplicateRate ?? 0)) {
        this.#pending++;
        this.#options.logger?.info(
          { subscriptionId: request.subscriptionId, kind: request.kind, eventNumber: request.eventNumber },
          'fault: notification duplicated',
        );
        this.#route(request, true);
      }
    }
    this.#route(request, false);
  }

  /** Resolves when nothing is queued, held, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.#pending === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Cancels everything pending (in-flight requests are aborted). */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const timer of this.#timers) {
      clearTimeout(timer);
    }
    this.#timers.clear();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    for (const held of this.#held.values()) {
      clearTimeout(held.timer);
    }
    this.#held.clear();
    this.#pending = 0;
    this.#wake();
    return Promise.resolve();
  }

  #route(request: DeliveryRequest, duplicate: boolean): void {
    if (!this.#faults.reorder || !REORDERABLE.has(request.kind) || duplicate) {
      this.#schedule(request, 1, duplicate);
      return;
    }
    const held = this.#held.get(request.subscriptionId);
    if (held) {
      // Swap: the newer notification goes first, the held one right after it.
      clearTimeout(held.timer);
      this.#timers.delete(held.timer);
      this.#held.delete(request.subscriptionId);
      this.#options.logger?.info(
        {
          subscriptionId: request.subscriptionId,
          first: request.eventNumber,
          then: held.request.eventNumber,
        },
        'fault: notifications reordered',
      );
      this.#schedule(request, 1, false);
      this.#schedule(held.request, 1, false);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#held.get(request.subscriptionId)?.request === request) {
        this.#held.delete(request.subscriptionId);
        this.#schedule(request, 1, false);
      }
    }, REORDER_HOLD_MS);
    this.#timers.add(timer);
    this.#held.set(request.subscriptionId, { request, timer });
  }

  #schedule(request: DeliveryRequest, attempt: number, duplicate: boolean): void {
    const previous = this.#lines.get(request.subscriptionId) ?? Promise.resolve();
    const next = previous.then(() => this.#attempt(request, attempt, duplicate));
    this.#lines.set(request.subscriptionId, next);
    void next.finally(() => {
      if (this.#lines.get(request.subscriptionId) === next) {
        this.#lines.delete(request.subscriptionId);
      }
    });
  }

  async #attempt(request: DeliveryRequest, attempt: number, duplicate: boolean): Promise<void> {
    if (this.#stopped) {
      return;
    }
    if (!this.#options.canSend(request)) {
      await this.#settle(request, { ok: false, attempts: attempt - 1, cancelled: true }, duplicate);
      return;
    }
    const delay = this.#faults.delayMs;
    if (delay) {
      const random = this.#faults.random ?? Math.random;
      const [min, max] = delay;
      await this.#sleep(min + Math.floor(random() * Math.max(0, max - min)));
      if (this.#stopped) {
        return;
      }
    }
    const { status, error } = await this.#send(request);
    if (this.#stopped) {
      return;
    }
    this.#options.onAttempt?.(request, {
      ...(status !== undefined ? { status } : {}),
      ...(error ? { error } : {}),
    });
    const ok =
      status !== undefined && (request.kind === 'handshake' ? status === 200 : status >= 200 && status < 300);
    if (ok) {
      await this.#settle(request, { ok, attempts: attempt, status }, duplicate);
      return;
    }
    const maxAttempts = request.kind === 'handshake' ? 1 : this.#attempts;
    this.#options.logger?.warn(
      {
        subscriptionId: request.subscriptionId,
        kind: request.kind,
        eventNumber: request.eventNumber,
        attempt,
        maxAttempts,
        status,
        error,
      },
      'notification delivery failed',
    );
    if (attempt >= maxAttempts) {
      await this.#settle(
        request,
        {
          ok: false,
          attempts: attempt,
          ...(status !== undefined ? { status } : {}),
          ...(error ? { error } : {}),
        },
        duplicate,
      );
      return;
    }
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        this.#schedule(request, attempt + 1, duplicate);
      },
      Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1)),
    );
    this.#timers.add(timer);
  }

  async #send(request: DeliveryRequest): Promise<{ status?: number; error?: string }> {
    if (this.#faults.unreachable) {
      return { error: 'fault: endpoint unreachable' };
    }
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
    const secure = url.protocol === 'https:';
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(request.timeoutMs ?? this.#timeoutMs),
    ]);
    // Answered once the whole response has been read (or failed: refused, reset, timed out, aborted).
    return new Promise((resolve) => {
      const failed = (err: unknown): void =>
        resolve({ error: err instanceof Error ? err.message : String(err) });
      // request() throws at once for what fetch rejected (a header value it refuses, a protocol it
      // does not speak): a failed delivery like any other, not a rejected send.
      let outgoing: ReturnType<typeof httpRequest>;
      try {
        outgoing = (secure ? httpsRequest : httpRequest)(
          url,
          {
            method: 'POST',
            // A length, as fetch sends one, rather than a chunked body.
            headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
            agent: secure ? this.#httpsAgent : this.#httpAgent,
            signal,
          },
          (response) => {
            response.on('error', failed);
            response.on('end', () => resolve({ status: response.statusCode }));
            response.on('close', () => {
              if (!response.complete) {
                failed(new Error('the response was cut off'));
              }
            });
            response.resume();
          },
        );
      } catch (err) {
        failed(err);
        return;
      }
      outgoing.on('error', failed);
      outgoing.end(request.body);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  async #settle(request: DeliveryRequest, result: DeliveryResult, duplicate = false): Promise<void> {
    try {
      if (!duplicate && !this.#stopped) {
        await this.#options.onSettled(request, result);
      }
    } catch (err) {
      this.#options.logger?.warn(
        { subscriptionId: request.subscriptionId, error: err instanceof Error ? err.message : String(err) },
        'delivery bookkeeping failed',
      );
    } finally {
      if (!this.#stopped) {
        this.#pending = Math.max(0, this.#pending - 1);
        this.#wake();
      }
    }
  }

  #wake(): void {
    if (this.#pending > 0) {
      return;
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }
}

/** One timer per subscription: `beat` fires after `periodSeconds` without `touch`. */
export class HeartbeatScheduler {
  readonly #beat: (subscriptionId: string) => void;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(beat: (subscriptionId: string) => void) {
    this.#beat = beat;
  }

  /** Something was just sent (or the subscription became active): restart its period. */
  touch(subscriptionId: string, periodSeconds: number | undefined): void {
    this.cancel(subscriptionId);
    if (!periodSeconds || periodSeconds <= 0) {
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(subscriptionId);
      this.#beat(subscriptionId);
    }, periodSeconds * 1000);
    timer.unref();
    this.#timers.set(subscriptionId, timer);
  }

  cancel(subscriptionId: string): void {
    const timer = this.#timers.get(subscriptionId);
    if (timer) {
      clearTimeout(timer);
      this.#timers.delete(subscriptionId);
    }
  }

  stop(): void {
    for (const timer of this.#timers.values()) {
      clearTimeout(timer);
    }
    this.#timers.clear();
  }
}
