/**
 * Test helpers for the sandbox EHR: a recording webhook receiver (a tiny express app on an
 * ephemeral port), SMART Backend Services clients with their own keys, and FHIR fetch.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { JWK } from 'jose';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { requestBackendToken } from '../../../src/cli/token-command.ts';
import type { SandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import {
  EXT_SANDBOX_NOTIFICATION_SHAPE,
  TOPIC_ENCOUNTER,
  TOPIC_MEDICATION_ADMINISTRATION,
} from '../../../src/contract/canonical.ts';

export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const MA_TOPIC = TOPIC_MEDICATION_ADMINISTRATION;
export const ENCOUNTER_TOPIC = TOPIC_ENCOUNTER;

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly raw: string;
  readonly body: any;
  readonly at: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Status to answer with, per request (default 200). */
  respond: (req: ReceivedRequest) => number;
  /** Requests to one path. */
  at(path: string): ReceivedRequest[];
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const app = express();
  const receiver: Receiver = {
    url: '',
    requests,
    respond: () => 200,
    at: (path) => requests.filter((r) => r.path === path),
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(requests)) {
        if (Date.now() > deadline) {
          throw new Error(`receiver: condition not met within ${timeoutMs} ms (${requests.length} requests)`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  app.use(express.text({ type: () => true, limit: '10mb' }));
  app.all('/{*path}', (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const record: ReceivedRequest = {
      method: req.method,
      path: req.path,
      headers: req.headers,
      raw,
      body,
      at: Date.now(),
    };
    requests.push(record);
    res.status(receiver.respond(record)).end();
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** Registers a client with a fresh ES384 key and returns a token for it. */
export async function tokenFor(ehr: SandboxEhr, scope: string): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `k-${Math.random().toString(36).slice(2)}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = await ehr.registerClient({ jwks: { keys: [publicJwk] }, scope });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
  const response = await requestBackendToken({ client_id: clientId, token_url: ehr.tokenUrl, scope, jwk });
  return response.access_token;
}

export async function fhir(
  ehr: SandboxEhr,
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { accept: 'application/fhir+json' };
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  if (init.body !== undefined) {
    headers['content-type'] = 'application/fhir+json';
  }
  const response = await fetch(`${ehr.fhirBaseUrl}/${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export interface BackportSubscriptionInput {
  endpoint: string;
  topic?: string;
  content?: 'empty' | 'id-only' | 'full-resource';
  filters?: string[];
  heartbeatSeconds?: number;
  maxCount?: number;
  headers?: string[];
  shape?: 'r5';
}

export function backportSubscription(input: BackportSubscriptionInput): any {
  return {
    resourceType: 'Subscription',
    meta: { profile: [`${BACKPORT}/backport-subscription`] },
    status: 'requested',
    reason: 'test',
    ...(input.shape
      ? {
          extension: [
            {
              url: EXT_SANDBOX_NOTIFICATION_SHAPE,
              valueCode: input.shape,
            },
          ],
        }
      : {}),
    criteria: input.topic ?? MA_TOPIC,
    ...(input.filters
      ? {
          _criteria: {
            extension: input.filters.map((valueString) => ({
              url: `${BACKPORT}/backport-filter-criteria`,
              valueString,
            })),
          },
        }
      : {}),
    channel: {
      extension: [
        ...(input.heartbeatSeconds
          ? [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: input.heartbeatSeconds }]
          : []),
        ...(input.maxCount
          ? [{ url: `${BACKPORT}/backport-max-count`, valuePositiveInt: input.maxCount }]
          : []),
      ],
      type: 'rest-hook',
      endpoint: input.endpoint,
      payload: 'application/fhir+json',
      _payload: {
        extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: input.content ?? 'id-only' }],
      },
      header: input.headers ?? [],
    },
  };
}

/** The status Parameters of a notification bundle, as a name → value map (parts as arrays). */
export function statusOf(bundle: any): Record<string, any> {
  const params = bundle.entry[0].resource;
  const out: Record<string, any> = { events: [] };
  for (const p of params.parameter) {
    if (p.name === 'notification-event') {
      const event: Record<string, any> = {};
      for (const part of p.part) {
        event[part.name] = part.valueString ?? part.valueInstant ?? part.valueReference?.reference;
      }
      out.events.push(event);
    } else {
      out[p.name] =
        p.valueString ??
        p.valueCode ??
        p.valueCanonical ??
        p.valueReference?.reference ??
        p.valueCodeableConcept;
    }
  }
  return out;
}

/** A small inline world: a location, a patient, an encounter at that location. */
export async function seedWorld(
  ehr: SandboxEhr,
  suffix = '',
): Promise<{ patient: string; encounter: string; location: string }> {
  const location = await ehr.createResource({
    resourceType: 'Location',
    id: `loc${suffix}`,
    name: 'Infusion suite',
  });
  const patient = await ehr.createResource({
    resourceType: 'Patient',
    id: `pat${suffix}`,
    name: [{ family: 'Test' }],
  });
  const encounter = await ehr.createResource({
    resourceType: 'Encounter',
    id: `enc${suffix}`,
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patient.id ?? ''}` },
    location: [{ location: { reference: `Location/${location.id ?? ''}` } }],
  });
  return {
    patient: `Patient/${patient.id ?? ''}`,
    encounter: `Encounter/${encounter.id ?? ''}`,
    location: `Location/${location.id ?? ''}`,
  };
}

export function medicationAdministration(
  id: string,
  world: { patient: string; encounter: string },
  status = 'in-progress',
): any {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status,
    medicationCodeableConcept: { text: 'sodium chloride 0.9% 500 mL' },
    subject: { reference: world.patient },
    context: { reference: world.encounter },
    effectivePeriod: { start: '2026-11-26T08:30:00-05:00' },
  };
}
