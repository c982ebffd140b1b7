/**
 * onFreePort (./free-port-retry.ts): a start whose probed port was taken before it listened is
 * tried again on another free port; any other failure, or the last attempt's, is the caller's.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { listen, PortInUseError } from '../../src/http/listen.ts';
import { onFreePort } from './free-port-retry.ts';

describe('onFreePort', () => {
  test('a port taken between the probe and the listen is replaced by another', async () => {
    const squatter = createServer();
    const servers: Server[] = [];
    const tried: number[] = [];
    try {
      const port = await onFreePort(async (free) => {
        tried.push(free);
        if (tried.length === 1) {
          // What a parallel test file does: it takes the port first.
          await listen(squatter, { port: free, host: '127.0.0.1', variable: 'PORT' });
        }
        const server = createServer();
        await listen(server, { port: free, host: '127.0.0.1', variable: 'PORT' });
        servers.push(server);
        return free;
      });
      expect(tried).toHaveLength(2);
      expect(port).toBe(tried[1]);
      expect(port).not.toBe(tried[0]);
    } finally {
      for (const server of [squatter, ...servers]) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });

  test('other failures are not retried, and the last attempt fails as it failed', async () => {
    let calls = 0;
    await expect(
      onFreePort(() => {
        calls++;
        return Promise.reject(new Error('bad config'));
      }),
    ).rejects.toThrow('bad config');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      onFreePort((port) => {
        calls++;
        return Promise.reject(new PortInUseError(port, 'PORT'));
      }, 3),
    ).rejects.toBeInstanceOf(PortInUseError);
    expect(calls).toBe(3);
  });
});
