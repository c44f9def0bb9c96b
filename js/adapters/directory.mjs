// The directory port over the core's in-memory directory (wasm), made durable by journaling
// every change to a store before the operation's result is handed back.
//
// Visibility: operations run one at a time in wasm (atomic), and their changes are appended in
// that order. A result, including a read's, is released only once every change applied before
// it is durable, so no caller ever acts on state a crash could take back (group commit: many
// operations share one fsync).

const COLLECTION = 'directory';

/**
 * @param {object} wasm   the initialized wasm package
 * @param {object|null} store  a file store (js/store/file-store.mjs), or null for memory only
 * @param {{ snapshotEvery?: number }} [options]
 */
export async function openDirectory(wasm, store, { snapshotEvery = 50_000 } = {}) {
  const dir = new wasm.Directory();
  if (store) for (const change of await store.replay(COLLECTION)) dir.replay(change);
  let lastWrite = Promise.resolve();
  let sinceSnapshot = 0;

  return {
    async apply(op) {
      const { result, changes } = dir.apply(op);
      if (store && changes.length) {
        lastWrite = Promise.all(changes.map((c) => store.append(COLLECTION, c)));
        sinceSnapshot += changes.length;
        if (sinceSnapshot >= snapshotEvery) {
          sinceSnapshot = 0;
          lastWrite = lastWrite.then(() => store.snapshot(COLLECTION, dir.snapshot()));
        }
      }
      await lastWrite;
      return result;
    },
    search: (query, offset, limit) => dir.search(query ?? '', offset ?? 0, limit ?? 20),
    /** Plans a CSV import against the directory as it durably stands (changes nothing). */
    async planImport(csv, crm, account) {
      await lastWrite;
      return dir.planImport(csv, crm, account);
    },
    get: (id) => dir.get(id),
    /** Every member's id and tags as JSON text, for the rule-impact preview. */
    accessIndexJson: () => dir.accessIndexJson(),
    get size() {
      return dir.size;
    },
  };
}
