/**
 * A TCP port free on `host` right now (the OS picks it): for a server whose own public URL must
 * name its port before it listens (Dripline in sandbox mode tells the sandbox EHR where to notify).
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
