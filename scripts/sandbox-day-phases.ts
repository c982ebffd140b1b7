/**
 * The sandbox day's phases, timed (`npm run sandbox:day`): each phase's wall time is printed when
 * it ends, and the whole breakdown once more at the end, so where the day's time goes is read off
 * its own output (issue 17: the day in ≤ 2 minutes). `bench:day` reads the same figures.
 */

export interface DayPhase {
  readonly name: string;
  /** Wall time of the phase, ms. */
  readonly ms: number;
}

export class DayPhases {
  readonly #started: number;
  #phaseStarted: number;
  readonly #done: DayPhase[] = [];
  readonly #print: (line: string) => void;

  /** `since`: when the day began (epoch ms; default now); `print`: where the lines go. */
  constructor(options: { readonly since?: number; readonly print?: (line: string) => void } = {}) {
    this.#started = options.since ?? Date.now();
    this.#phaseStarted = this.#started;
    this.#print = options.print ?? ((line) => console.log(line));
  }

  /** Seconds since the day started, for progress lines ("12 s: ..."). */
  elapsedS(): string {
    return ((Date.now() - this.#started) / 1000).toFixed(1);
  }

  /** Ends the current phase (it began when the previous one ended) and prints its wall time. */
  end(name: string): void {
    const at = Date.now();
    const phase = { name, ms: at - this.#phaseStarted };
    this.#done.push(phase);
    this.#phaseStarted = at;
    this.#print(`[phase] ${name}: ${seconds(phase.ms)} (day at ${seconds(at - this.#started)})`);
  }

  phases(): readonly DayPhase[] {
    return [...this.#done];
  }

  /** Wall time from the start to the end of the last phase, ms. */
  totalMs(): number {
    return this.#done.reduce((sum, p) => sum + p.ms, 0);
  }

  /** The breakdown, one line per phase, with its share of the whole. */
  summary(): string {
    const total = this.totalMs();
    const width = Math.max(...this.#done.map((p) => p.name.length));
    const lines = this.#done.map(
      (p) =>
        `  ${p.name.padEnd(width)}  ${seconds(p.ms).padStart(7)}  ${((p.ms / Math.max(total, 1)) * 100).toFixed(0).padStart(3)}%`,
    );
    return [`day in ${seconds(total)}, by phase:`, ...lines].join('\n');
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Resolves as `promise` does, or throws at `deadline` (epoch ms) naming `what` it was waiting for. */
export async function beforeDeadline<T>(what: string, promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the sandbox day gave up waiting for ${what}`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
