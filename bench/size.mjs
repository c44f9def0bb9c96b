// Where the wasm's bytes go: the release build of pkg/ made again with its function and data
// names kept (`scripts/build-pkg.sh --names DIR`: the same cargo build, wasm-bindgen and
// wasm-opt -Os, plus -g), each function body and data segment summed under what it belongs to.
// The names change nothing else, so the sums cover pkg/memberwire_bg.wasm but for about 1%
// (its type, import, export, element and custom sections, and the section headers).
//
//   node bench/size.mjs            (builds; the cargo build is the one `npm run build` caches)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../', import.meta.url));

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length) throw new Error('size: the wasm ends inside a number (a damaged file, or one read wrong)');
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}

/** Function bodies and data segments of a wasm binary, with the names its name section gives. */
export function sizesOf(bytes) {
  const functions = []; // { index, size }
  const segments = []; // { index, size }
  let imported = 0;
  const names = { functions: new Map(), data: new Map() };
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++];
    let size;
    [size, at] = leb(bytes, at);
    const end = at + size;
    if (id === 2) {
      // imports: functions among them take the first indices
      let [n, p] = leb(bytes, at);
      for (let i = 0; i < n; i++) {
        let len;
        [len, p] = leb(bytes, p);
        p += len;
        [len, p] = leb(bytes, p);
        p += len;
        const kind = bytes[p++];
        if (kind === 0) {
          imported += 1;
          [, p] = leb(bytes, p);
        } else if (kind === 1) {
          p += 1;
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 2) {
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 3) p += 2;
        else throw new Error(`size: import kind ${kind} not understood`);
      }
    } else if (id === 10) {
      let [n, p] = leb(bytes, at);
      for (let i = 0; i < n; i++) {
        let len;
        [len, p] = leb(bytes, p);
        functions.push({ index: imported + i, size: len });
        p += len;
      }
    } else if (id === 11) {
      let [n, p] = leb(bytes, at);
      for (let i = 0; i < n; i++) {
        let flags;
        [flags, p] = leb(bytes, p);
        if (flags === 2) [, p] = leb(bytes, p);
        if (flags !== 1) {
          // The offset: one constant instruction (i32.const, i64.const or global.get), then `end`.
          const op = bytes[p++];
          if (op !== 0x41 && op !== 0x42 && op !== 0x23) throw new Error(`size: data offset opcode ${op} not understood`);
          while (bytes[p] & 0x80) p += 1;
          p += 1;
          if (bytes[p++] !== 0x0b) throw new Error('size: a data offset longer than one instruction');
        }
        let len;
        [len, p] = leb(bytes, p);
        segments.push({ index: i, size: len });
        p += len;
      }
    } else if (id === 0) {
      let [len, p] = leb(bytes, at);
      const name = new TextDecoder().decode(bytes.subarray(p, p + len));
      p += len;
      if (name === 'name') {
        while (p < end) {
          const sub = bytes[p++];
          let subSize;
          [subSize, p] = leb(bytes, p);
          const subEnd = p + subSize;
          const map = sub === 1 ? names.functions : sub === 9 ? names.data : null;
          if (map) {
            let [n, q] = leb(bytes, p);
            for (let i = 0; i < n; i++) {
              let index;
              let l;
              [index, q] = leb(bytes, q);
              [l, q] = leb(bytes, q);
              map.set(index, new TextDecoder().decode(bytes.subarray(q, q + l)));
              q += l;
            }
          }
          p = subEnd;
        }
      }
    }
    at = end;
  }
  return {
    functions: functions.map((f) => ({ ...f, name: names.functions.get(f.index) ?? `function ${f.index}` })),
    segments: segments.map((s) => ({ ...s, name: names.data.get(s.index) ?? `data ${s.index}` })),
  };
}

// What a function belongs to, by its (demangled) name; the first rule that matches wins.
const GROUPS = [
  ['JSON: reading it into Rust types (the parser, from_json)', /memberwire::core::json::(parse|Parser|FromJson|Fields|DecodeError|field|object|set_once|required|from_str)|from_json|FromJson/],
  ['JSON: writing Rust types as JSON (write_json)', /write_json|ToJson|ObjectWriter|write_str|object_text|memberwire::core::json/],
  ['inbound parsers (eight CRMs, JSON paths, forms)', /memberwire::core::inbound|memberwire::core::form|form_urlencoded/],
  ['CRM clients and catalogs', /memberwire::core::crm/],
  ['the workflow', /memberwire::core::workflow/],
  ['admin only (bulk plans, rule impact, previews)', /memberwire::core::plan|memberwire::core::access|memberwire::bindings::admin|planImport|accessindex|previewTagSync|directory_search|crmParseList|crmListRequest/],
  ['directory, members, contacts, email', /memberwire::core::(directory|member|contact|email|error|secrets)/],
  ['binding layer (exports, conversions)', /memberwire::bindings|shim|^registrar_|^directory_|^workflow_|^parsePost|^crm[A-Z]|wasm_bindgen|js_sys|web_sys|__wbg|__wbindgen|externref/],
  ['hashes and encodings (bcrypt, SHA-256, MD5, base64)', /bcrypt|blowfish|sha2|md5|base64/],
  ['collections (BTreeMap, Vec, String)', /btree|BTree|alloc::|alloc\[|hashbrown|raw_vec/],
  ['number and text formatting', /fmt|flt2dec|dragon|grisu|zmij|escape_debug|to_lowercase|to_uppercase|unicode/],
  ['allocator', /dlmalloc|__rust_alloc|__rdl_|__rust_dealloc|__rust_realloc/],
];

export function breakdown(bytes) {
  const { functions, segments } = sizesOf(bytes);
  const sums = new Map();
  const add = (group, n) => sums.set(group, (sums.get(group) ?? 0) + n);
  for (const f of functions) add((GROUPS.find(([, re]) => re.test(f.name)) ?? ['other code (core, std)'])[0], f.size);
  const data = segments.reduce((n, s) => n + s.size, 0);
  add('read-only data (messages, Unicode and float tables)', data);
  const total = [...sums.values()].reduce((a, b) => a + b, 0);
  return { total, groups: [...sums].sort((a, b) => b[1] - a[1]).map(([group, bytes]) => ({ group, bytes, share: bytes / total })) };
}

export function runSize({ log = console.log } = {}) {
  const pkg = readFileSync(join(root, 'pkg/memberwire_bg.wasm'));
  const result = { rawBytes: pkg.length, gzipBytes: gzipSync(pkg, { level: 9 }).length };
  const dir = mkdtempSync(join(tmpdir(), 'mw-size-'));
  try {
    try {
      execFileSync('bash', [join(root, 'scripts/build-pkg.sh'), '--names', dir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`size: the build with names failed: ${String(err.stderr ?? err.message).slice(-2000)}`);
    }
    const named = readFileSync(join(dir, 'memberwire_bg.wasm'));
    Object.assign(result, breakdown(named));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  log(`size: ${result.rawBytes} bytes raw, ${result.gzipBytes} bytes gzip -9; where the ${result.total} bytes of code and data go:`);
  for (const g of result.groups) log(`  ${String(g.bytes).padStart(7)}  ${(g.share * 100).toFixed(1).padStart(4)}%  ${g.group}`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) runSize();
