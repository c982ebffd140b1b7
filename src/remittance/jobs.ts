/**
 * Remittance's queues and what their jobs carry. A received 835 file is posted by jobs keyed by the
 * file and where they start (`post|{file}|{transaction}|{position}`): each posts up to a few
 * thousand claim payments and enqueues the next in the transaction of its last batch, so a large
 * file is posted in short, resumable steps; the next job carries where to resume reading the file
 * (src/x12/835/resume835.ts), so the file is parsed once in all.
 */
import type { ResumePoint835 } from '../x12/835/resume835.ts';

/** Queue of received 835 files to post (payload RemittancePostJob). */
export const REMITTANCE_POST_QUEUE = 'remittance-post';

export interface RemittancePostJob {
  /** The received file's DocumentReference id. */
  readonly document: string;
  /**
   * The first claim payment this job posts: its transaction set and position (default: the first),
   * and where in the file to resume reading (without it, the file is read from its start and the
   * payments before are skipped).
   */
  readonly from?: {
    readonly transaction: number;
    readonly position: number;
    readonly resume?: ResumePoint835;
  };
}

/** Work item (Task) code of the unmatched-remittance queue: payments no claim of Dripline's matched. */
export const UNMATCHED_TASK = { code: 'remittance-unmatched', text: 'remittance to match' } as const;

export function remittancePostKey(job: RemittancePostJob): string {
  return `post|${job.document}|${job.from?.transaction ?? 1}|${job.from?.position ?? 1}`;
}
