// The SQL store at scale, against the in-memory directory (what the earlier file store kept
// whole in memory) in the same run:
// - memory: a server at rest with N members, in fresh processes (RSS growth after a full GC):
//   the SQLite store open and answering reads, against the whole directory loaded in memory;
// - a bulk plan of N CSV rows against N members (the admin page's dry run), and the rule-impact
//   index (every member's id and tags), each timed on both.
// Both directories must give the same plan counts, or the benchmark fails.
//
//   node bench/store.mjs [--members 100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadWasm } from '../js/hosts/node.mjs';
import { openSqlite } from '../js/store/sqlite.mjs';
import { sqlDirectory } from '../js/adapters/sql-directory.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b) => b / 2 ** 20;

function member(i, t) {
  return {
    email: `member.${i}@example.com`,
    contact: { crm: 'keap', account: 'default', contactId: String(100_000 + i) },
    firstName: 'Member',
    lastName: `Number${i}`,
    tags: i % 3 ? [{ id: '91' }, { id: '93' }] : [{ id: '95' }],
    credentials: 'link_issued',
    welcome: 'sent',
    createdAt: t,
    updatedAt: t,
  };
}

/** A CSV of n rows: a third existing, a third new, the rest new contacts with taken emails. */
function csvOf(n) {
  const lines = ['Id,Email,First Name,Last Name'];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    if (k === 0) lines.push(`${100_000 + i},member.${i}@example.com,Member,Number${i}`);
    else if (k === 1) lines.push(`${900_000 + i},fresh.${i}@example.com,Fresh,Row${i}`);
    else lines.push(`${900_000 + i},MEMBER.${i}@Example.com,Taken,Row${i}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * In a fresh process, over a database of N members in `dir`: the RSS growth (after a full GC)
 * of a server at rest with them. `sqlite`: the store open and answering reads (members stay on
 * disk); `memory`: every member loaded into the in-memory directory, as a store that keeps the
 * directory whole in memory does at start.
 */
async function memoryChild(which, dir) {
  const wasm = loadWasm();
  global.gc();
  const rss0 = process.memoryUsage().rss;
  const db = await openSqlite(dir);
  const sql = sqlDirectory(wasm, db);
  let keep = null;
  if (which === 'memory') {
    const row = await db.first(
      "SELECT json_group_array(json_patch(data, json_object('id', 'm' || seq, 'version', version, 'email', email, 'credentials', credentials, 'createdAt', created_at, 'updatedAt', updated_at))) AS j FROM members",
      [],
    );
    keep = new wasm.Directory();
    keep.loadMembersJson(row.j);
  } else {
    await sql.search('', 0, 20);
    await sql.apply({ op: 'get_by_contact', key: 'keap:default:100007' });
    await sql.apply({ op: 'get_by_email', email: 'member.7@example.com' });
  }
  global.gc();
  const grown = process.memoryUsage().rss - rss0;
  await db.close();
  process.stdout.write(JSON.stringify({ which, mib: mib(grown), size: keep?.size ?? null }));
}

const self = fileURLToPath(import.meta.url);
const measureMemory = (which, dir) =>
  JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, '--memory', which, '--db', dir], { encoding: 'utf8' }));

export async function runStore({ members = 100_000, runs = 3, log = console.log } = {}) {
  const wasm = loadWasm();
  const t = Date.now();
  const csv = csvOf(members);

  // In memory: the wasm reference directory.
  const memory = new wasm.Directory();
  for (let i = 0; i < members; i += 1000) {
    const chunk = [];
    for (let j = i; j < Math.min(members, i + 1000); j++) chunk.push({ ...member(j, t), id: `m${j + 1}`, version: 1 });
    memory.loadMembersJson(JSON.stringify(chunk));
  }

  // SQLite: the Node server's store, loaded through one transaction per 5,000 members.
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-store-'));
  let db = await openSqlite(dir);
  try {
    let sql = sqlDirectory(wasm, db);
    const t0 = performance.now();
    const pending = [];
    for (let i = 0; i < members; i++) {
      pending.push(sql.apply({ op: 'insert', member: member(i, t) }));
      if (pending.length >= 5000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const insertMs = performance.now() - t0;
    // Memory at rest with these members, each in a fresh process (the database is one
    // process's at a time).
    await db.close();
    const sqliteMemory = measureMemory('sqlite', dir);
    const memoryMemory = measureMemory('memory', dir);
    if (memoryMemory.size !== members) throw new Error(`the in-memory directory loaded ${memoryMemory.size} members`);
    db = await openSqlite(dir);
    sql = sqlDirectory(wasm, db);

    const planSql = [];
    const planMem = [];
    const indexSql = [];
    const indexMem = [];
    let countsSql;
    let countsMem;
    for (let r = 0; r < runs; r++) {
      let s = performance.now();
      countsSql = (await sql.planImport(csv, 'keap', 'default')).counts;
      planSql.push(performance.now() - s);
      s = performance.now();
      countsMem = memory.planImport(csv, 'keap', 'default').counts;
      planMem.push(performance.now() - s);
      s = performance.now();
      const a = await sql.accessIndexJson();
      indexSql.push(performance.now() - s);
      s = performance.now();
      const b = memory.accessIndexJson();
      indexMem.push(performance.now() - s);
      if (JSON.parse(a).length !== members || JSON.parse(b).length !== members) throw new Error('an access index is missing members');
    }
    if (JSON.stringify(countsSql) !== JSON.stringify(countsMem)) throw new Error(`plan counts differ: SQLite ${JSON.stringify(countsSql)} memory ${JSON.stringify(countsMem)}`);
    const dbBytes = db.raw.pragma('page_count', { simple: true }) * db.raw.pragma('page_size', { simple: true });
    const result = {
      members,
      insertPerSecond: members / (insertMs / 1000),
      sqliteRssGrowthMiB: sqliteMemory.mib,
      sqliteFileMiB: mib(dbBytes),
      memoryRssGrowthMiB: memoryMemory.mib,
      planSqliteMs: median(planSql),
      planMemoryMs: median(planMem),
      indexSqliteMs: median(indexSql),
      indexMemoryMs: median(indexMem),
      planCounts: countsSql,
    };
    const n = members.toLocaleString('en');
    log(`store: ${n} members inserted through the SQLite directory port at ${Math.round(result.insertPerSecond).toLocaleString('en')}/s (one transaction per event-loop turn)`);
    log(`store: memory of a server at rest with ${n} members (RSS growth of a fresh process after a full GC): SQLite +${result.sqliteRssGrowthMiB.toFixed(1)} MiB (the members stay in the ${result.sqliteFileMiB.toFixed(1)} MiB database file), the whole directory in memory +${result.memoryRssGrowthMiB.toFixed(1)} MiB`);
    log(`store: bulk plan of ${n} rows over ${n} members: SQLite ${result.planSqliteMs.toFixed(0)} ms, in memory ${result.planMemoryMs.toFixed(0)} ms; counts agree ${JSON.stringify(countsSql)}`);
    log(`store: rule-impact index of ${n} members: SQLite ${result.indexSqliteMs.toFixed(0)} ms, in memory ${result.indexMemoryMs.toFixed(0)} ms`);
    return result;
  } finally {
    memory.free();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { members: { type: 'string', default: '100000' }, memory: { type: 'string' }, db: { type: 'string' } } });
  if (values.memory) await memoryChild(values.memory, values.db);
  else await runStore({ members: Number(values.members) });
}
