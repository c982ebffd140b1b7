/**
 * What every sandbox party (EHR, payer) starts with: an HTTP server on loopback, its public URLs,
 * and its own authorization server (in-memory client registry, own signing key).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenService } from '../auth/token-service.ts';
import { listen } from '../http/listen.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { AuthStore } from '../store/port.ts';
import { createSandboxAuthStore } from './ehr/auth-store.ts';

export interface SandboxListener {
  readonly server: Server;
  readonly url: string;
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  readonly authStore: AuthStore;
  readonly tokenService: TokenService;
}

export async function listenSandbox(options: {
  port?: number;
  host: string;
  publicUrl?: string;
  /** The setting that moves the port, named when it is in use. */
  portVariable: string;
}): Promise<SandboxListener> {
  const server: Server = createServer();
  await listen(server, { port: options.port ?? 0, host: options.host, variable: options.portVariable });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = (options.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const fhirBaseUrl = `${url}/fhir`;
  const authStore = createSandboxAuthStore();
  const tokenService = await createTokenService({ authStore, issuer: url, audience: fhirBaseUrl });
  return { server, url, fhirBaseUrl, tokenUrl: `${url}/oauth2/token`, authStore, tokenService };
}
