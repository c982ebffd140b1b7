/**
 * What the store contract's parts (./contract*.ts) share: the test function bound to the store
 * under test, and the helpers that make each test's data its own.
 */
import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { DatePrefix, Store, StoreFilter, StoreQuery, TenantId } from '../../src/store/port.ts';

/** A contract test: runs `fn` with the store under test (a no-op when it could not be opened). */
export type ContractTest = (title: string, fn: (store: Store) => Promise<void>) => void;

export function newTenant(): TenantId {
  return `tenant-${randomUUID()}`;
}

export function newQueue(): string {
  return `queue-${randomUUID()}`;
}

export function past(): string {
  return new Date(Date.now() - 60_000).toISOString();
}

export function future(ms: number): Date {
  return new Date(Date.now() + ms);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function query(resourceType: string, filters: StoreFilter[], extra?: Partial<StoreQuery>): StoreQuery {
  return { resourceType, filters, sort: [], count: 100, offset: 0, total: false, ...extra };
}

export function token(
  code: string,
  values: { system?: string | null; value: string }[],
  not?: boolean,
): StoreFilter {
  return { code, kind: 'token', values, ...(not ? { not } : {}) };
}

export function ref(code: string, values: string[]): StoreFilter {
  return { code, kind: 'reference', values };
}

export function str(code: string, values: string[], exact?: boolean): StoreFilter {
  return { code, kind: 'string', values, ...(exact ? { exact } : {}) };
}

export function dateFilter(code: string, prefix: DatePrefix, start: string, end: string): StoreFilter {
  return { code, kind: 'date', prefix, start, end };
}

export function statusOf(err: unknown): number | undefined {
  return err instanceof OperationOutcomeError ? getStatus(err.outcome) : undefined;
}

export async function expectStatus(promise: Promise<unknown>, status: number): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (error === undefined) {
    throw new Error(`Expected an OperationOutcomeError with status ${status}, but the call succeeded`);
  }
  if (!(error instanceof OperationOutcomeError)) {
    throw error instanceof Error ? error : new Error('non-Error thrown', { cause: error });
  }
  expect(getStatus(error.outcome)).toBe(status);
}
