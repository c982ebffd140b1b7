/**
 * The commands that use Dripline's API as any client would (`eligibility`, `estimate`): a token
 * from the client file (SMART Backend Services, ./token-command.ts), then one request to
 * Dripline's base URL — `--url`, else the client file's token_url without `/oauth2/token`. An
 * answer of 400 or more is an error naming the status and the OperationOutcome's first text.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './client-command.ts';
import { requestBackendToken } from './token-command.ts';

/** The options of such a command: the client file, Dripline's base URL, and the whole answer as JSON. */
export const API_CLIENT_OPTIONS = {
  client: { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface ApiAnswer {
  readonly status: number;
  /** The JSON answer; `{}` when it is not JSON. */
  readonly body: Record<string, unknown>;
}

export async function requestDriplineApi(
  options: { readonly client: string; readonly url?: string | undefined },
  path: string,
  init: { readonly method?: string; readonly headers: Record<string, string>; readonly body?: string },
): Promise<ApiAnswer> {
  const client = JSON.parse(readFileSync(options.client, 'utf8')) as Parameters<
    typeof requestBackendToken
  >[0] & { token_url?: string };
  const base = (options.url ?? client.token_url?.replace(/\/oauth2\/token$/, '') ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) {
    throw new UsageError('give --url <Dripline base URL> (the client file names no token_url)');
  }
  const { access_token: token } = await requestBackendToken(client);
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status >= 400) {
    const issue = (body['issue'] as { details?: { text?: string } }[] | undefined)?.[0]?.details?.text;
    throw new Error(`Dripline answered ${res.status}${issue ? `: ${issue}` : ''}`);
  }
  return { status: res.status, body };
}
