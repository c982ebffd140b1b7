/**
 * The server's root: people type the bare address, and it opens the billers' app (`/app/`). Apart
 * from the app (./routes.ts) so that the root answers without loading the app's modules.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';

export function homeRouter(): Router {
  const home = express.Router({ strict: true });
  home.get('/', (_req: Request, res: Response) => {
    res.redirect(303, '/app/');
  });
  return home;
}
