// The directory port in memory: the core's reference directory (src/core/directory.rs, compiled
// to wasm) with nothing durable behind it. For tests, previews and hosts that keep no state;
// durable hosts use js/adapters/sql-directory.mjs, which answers the same (the conformance suite
// in tests/js/directory-conformance.test.mjs holds both to it).

/** @param {object} wasm  the initialized wasm package */
export function memoryDirectory(wasm) {
  const dir = new wasm.Directory();
  return {
    kind: 'memory',
    async apply(op) {
      return dir.apply(op).result;
    },
    async get(id) {
      return dir.get(id) ?? null;
    },
    async search(query, offset, limit) {
      return dir.search(query ?? '', offset ?? 0, limit ?? 20);
    },
    async accessIndexJson() {
      return dir.accessIndexJson();
    },
    async planImport(csv, crm, account) {
      return dir.planImport(csv, crm, account);
    },
    async size() {
      return dir.size;
    },
  };
}
