/**
 * The app's calls to its server (`/app/api`): the session cookie goes with every call; actions
 * carry the session's CSRF token. A 401 means the session ended.
 */
export interface Session {
  readonly name: string;
  readonly fhirUser: string;
  readonly owner: string;
  readonly role: string;
  readonly permissions: readonly string[];
  readonly tenant: string;
  readonly tenantName: string;
  readonly patient?: string;
  readonly encounter?: string;
  readonly csrf: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let csrf = '';

export function useCsrf(token: string): void {
  csrf = token;
}

async function failure(response: Response): Promise<ApiError> {
  let message = `The server answered ${response.status}`;
  try {
    const body = (await response.json()) as {
      issue?: { details?: { text?: string }; diagnostics?: string }[];
    };
    message =
      body.issue
        ?.map((i) => i.details?.text ?? i.diagnostics ?? '')
        .filter(Boolean)
        .join('; ') || message;
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(response.status, message);
}

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(`/app/api/${path}`, {
    headers: { accept: 'application/json' },
    credentials: 'same-origin',
  });
  if (!response.ok) {
    throw await failure(response);
  }
  return (await response.json()) as T;
}

export async function getText(path: string): Promise<string> {
  const response = await fetch(`/app/api/${path}`, { credentials: 'same-origin' });
  if (!response.ok) {
    throw await failure(response);
  }
  return response.text();
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`/app/api/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw await failure(response);
  }
  return (await response.json()) as T;
}
