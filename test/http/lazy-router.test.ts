/**
 * A lazy router (src/http/lazy-router.ts) through real HTTP: built on the first request that
 * reaches its mount path and only once, then serving as the router would; paths it does not serve
 * fall through; a failed build is that request's error and is tried again; the route table sees
 * its routes once built.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { lazyRouter, loadLazyRouters } from '../../src/http/lazy-router.ts';
import type { LazyRouter } from '../../src/http/lazy-router.ts';
import { routeTable } from '../../src/http/route-table.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function itemsRouter(): Router {
  const router = express.Router();
  router.get('/items/:id', (req, res) => {
    res.json({ id: req.params['id'], base: req.baseUrl });
  });
  return router;
}

/** An app with `lazy` at /api, a fallback after it, and an error handler; its base URL. */
async function serve(lazy: LazyRouter): Promise<{ url: string; app: express.Express }> {
  const app = express();
  app.use('/api', lazy);
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ fallthrough: true });
  });
  app.use((err: Error, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    res.status(500).json({ error: err.message });
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, app };
}

describe('lazyRouter', () => {
  test('builds on the first request to its path, once, and serves as the router', async () => {
    let builds = 0;
    const lazy = lazyRouter(() => {
      builds++;
      return Promise.resolve(itemsRouter());
    });
    const { url } = await serve(lazy);
    expect(builds).toBe(0);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    expect(builds).toBe(0);

    const answers = await Promise.all(
      ['a', 'b', 'c'].map(async (id) => (await fetch(`${url}/api/items/${id}`)).json()),
    );
    expect(answers).toEqual([
      { id: 'a', base: '/api' },
      { id: 'b', base: '/api' },
      { id: 'c', base: '/api' },
    ]);
    expect(builds).toBe(1);
    const unserved = await fetch(`${url}/api/nothing-here`);
    expect([unserved.status, await unserved.json()]).toEqual([404, { fallthrough: true }]);
    expect(builds).toBe(1);
  });

  test('a failed build is the error of the request that met it, and is tried again', async () => {
    let builds = 0;
    const lazy = lazyRouter(() => {
      builds++;
      return builds === 1
        ? Promise.reject(new Error('module failed to load'))
        : Promise.resolve(itemsRouter());
    });
    const { url } = await serve(lazy);
    const failed = await fetch(`${url}/api/items/1`);
    expect([failed.status, await failed.json()]).toEqual([500, { error: 'module failed to load' }]);
    const served = await fetch(`${url}/api/items/1`);
    expect([served.status, await served.json()]).toEqual([200, { id: '1', base: '/api' }]);
    expect(builds).toBe(2);
  });

  test('its routes are in the route table once built; onLoad says when', async () => {
    const lazy = lazyRouter(() => Promise.resolve(itemsRouter()));
    const { url, app } = await serve(lazy);
    const loaded: string[] = [];
    lazy.onLoad(() => loaded.push('before'));
    expect(routeTable(app).match('GET', '/api/items/1')).toBeUndefined();

    await fetch(`${url}/api/items/1`);
    expect(loaded).toEqual(['before']);
    lazy.onLoad(() => loaded.push('after'));
    expect(loaded).toEqual(['before', 'after']);
    expect(routeTable(app).match('GET', '/api/items/1')).toBe('/api/items/:id');
  });

  test('loadLazyRouters builds every lazy router, nested ones too', async () => {
    const inner = lazyRouter(() => Promise.resolve(itemsRouter()));
    const outer = lazyRouter(() => Promise.resolve(express.Router().use('/inner', inner)));
    const { app } = await serve(outer);
    await loadLazyRouters(app.router);
    expect(routeTable(app).match('GET', '/api/inner/items/7')).toBe('/api/inner/items/:id');
  });
});
