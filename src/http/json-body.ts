/**
 * Strict JSON request bodies for the FHIR API and the `/api` routes: right content type (415
 * otherwise), size limit (413), well-formed (400), bounded nesting (400, checked before parsing so a
 * hostile body cannot exhaust the stack of anything that walks it later), no `__proto__` keys (400)
 * so nothing downstream can be tricked into prototype pollution, and the shape handlers rely on
 * (400, ./body-shape.ts).
 */
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { objectBodyShapeProblem } from './body-shape.ts';
import type { ShapeCheck } from './body-shape.ts';
import { HttpError, outcome } from './outcomes.ts';

const ACCEPTED_TYPES = new Set(['application/fhir+json', 'application/json']);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

/** Maximum nesting depth of the JSON text, counted without parsing (strings are skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        i++;
      } else if (c === 0x22 /* " */) {
        inString = false;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** The first forbidden key anywhere in the value (iterative walk), or undefined. */
export function findForbiddenKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) {
        return key;
      }
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

/**
 * Body handling for methods that carry one (POST, PUT, PATCH); other methods pass through.
 * On success `req.body` is the parsed JSON value, of the shape `options.shape` checks: a JSON
 * object by default (./body-shape.ts); the FHIR routes pass the R4 check (src/fhir/body-shape.ts).
 */
export function strictJsonBody(options: {
  maxBytes: number;
  maxDepth: number;
  shape?: ShapeCheck;
}): RequestHandler {
  const shapeProblem = options.shape ?? objectBodyShapeProblem;
  const readRaw = express.raw({ type: () => true, limit: options.maxBytes });
  const parse = (req: Request): HttpError | undefined => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      return new HttpError(400, outcome('required', 'Request body is empty'));
    }
    const text = req.body.toString('utf8');
    if (jsonDepth(text) > options.maxDepth) {
      return new HttpError(400, outcome('too-costly', `JSON nesting deeper than ${options.maxDepth} levels`));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return new HttpError(400, outcome('structure', 'Malformed JSON body'));
    }
    const forbidden = findForbiddenKey(parsed);
    if (forbidden) {
      return new HttpError(400, outcome('security', `Forbidden property name "${forbidden}"`));
    }
    const shape = shapeProblem(parsed);
    if (shape) {
      return new HttpError(400, outcome('structure', shape.message, shape.expression || undefined));
    }
    req.body = parsed;
    return undefined;
  };
  return (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') {
      next();
      return;
    }
    const type = mediaType(req.headers['content-type']);
    if (!type || !ACCEPTED_TYPES.has(type)) {
      next(
        new HttpError(
          415,
          outcome(
            'not-supported',
            `Content-Type must be application/fhir+json or application/json, not ${type ?? 'missing'}`,
          ),
        ),
      );
      return;
    }
    // express.raw is a standard body-parser middleware; Request extends IncomingMessage.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    readRaw(req, res, (err?: unknown) => {
      next(err ?? parse(req));
    });
  };
}
