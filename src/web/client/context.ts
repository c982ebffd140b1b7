/** What every view is given: the session, where to draw, and how to tell the person something. */
import type { Session } from './api.ts';

export interface ViewContext {
  readonly session: Session;
  readonly main: HTMLElement;
  /** Query parameters after the route (`#/worklist?state=held`). */
  readonly query: URLSearchParams;
  can(permission: string): boolean;
  /** Says something in the live region (screen readers hear it). */
  announce(message: string): void;
}
