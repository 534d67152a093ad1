/**
 * Stores for tests that need to watch or break the data layer: a real embedded store, with
 * chosen methods replaced and every other one going to the store itself.
 */
import { declaredIndexes } from '../../functions/src/store/index.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';

/** In memory, enforcing firestore.indexes.json, as startApi's own store. */
export function memoryStore(): SqliteDocumentStore {
  return new SqliteDocumentStore({ path: ':memory:', indexes: declaredIndexes() });
}

/** `store` (a document or blob store) with some methods replaced. The replacements may call the store's own methods. */
export function withOverrides<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
