/**
 * A server a test starts on a port it must know before listening (its public URL names it): the
 * port is free when probed (src/http/free-port.ts), but a test file running in parallel can take
 * it before the server listens (seen: PortInUseError in a web test under a full `npm test`). The
 * start is tried again on another free port then, a few times.
 */
import { freePort } from '../../src/http/free-port.ts';
import { PortInUseError } from '../../src/http/listen.ts';

export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) {
        throw err;
      }
    }
  }
}
