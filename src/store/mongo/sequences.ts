/**
 * Durable counters over MongoDB: one document per (tenant, name), keyed by `_id` = the JSON of
 * [tenant, name] (an _id cannot be an array; JSON keeps any tenant and name apart),
 * incremented by one atomic findOneAndUpdate (upsert), so concurrent callers — in one process or
 * several sharing the database — each get their own value.
 */
import type { Collection } from 'mongodb';
import type { SequenceStore, TenantId } from '../port.ts';
import { isDuplicateKeyError } from './connection.ts';

export interface SequenceDoc {
  _id: string;
  tenant: string;
  name: string;
  value: number;
}

/** Two first callers racing on the upsert: the loser's insert hits the key (E11000) and is retried. */
const UPSERT_RETRIES = 3;

export class MongoSequenceStore implements SequenceStore {
  readonly #collection: Collection<SequenceDoc>;

  constructor(collection: Collection<SequenceDoc>) {
    this.#collection = collection;
  }

  async next(tenant: TenantId, name: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.#collection.findOneAndUpdate(
          { _id: JSON.stringify([tenant, name]) },
          { $inc: { value: 1 }, $setOnInsert: { tenant, name } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc || !Number.isSafeInteger(doc.value)) {
          throw new Error(`sequence ${name} returned no value`);
        }
        return doc.value;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= UPSERT_RETRIES) {
          throw err;
        }
      }
    }
  }
}
