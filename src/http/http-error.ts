/** An error that carries its own HTTP status and headers (for statuses @medplum/core's getStatus cannot derive). */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';

export class HttpError extends OperationOutcomeError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, body: OperationOutcome, headers: Record<string, string> = {}) {
    super(body);
    this.status = status;
    this.headers = headers;
  }
}
