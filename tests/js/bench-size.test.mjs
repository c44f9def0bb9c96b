// bench/size.mjs reads where a wasm binary's bytes go: function bodies and data segments, with
// the names its name section gives. Checked on a module written out byte by byte, with the
// parts that trip a careless reader: an imported function (the bodies' indices start after it),
// a data segment whose offset's own bytes hold 0x0b (the `end` opcode), a passive segment, and
// a function the name section does not name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { breakdown, sizesOf } from '../../bench/size.mjs';

const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s) => [...uleb(s.length), ...new TextEncoder().encode(s)];
const section = (id, body) => [id, ...uleb(body.length), ...body];
const vec = (items) => [...uleb(items.length), ...items.flat()];

function module() {
  const types = section(1, vec([[0x60, 0, 0]]));
  const imports = section(2, vec([[...str('env'), ...str('f'), 0x00, 0x00], [...str('env'), ...str('mem'), 0x02, 0x00, 0x01]]));
  const functions = section(3, vec([[0x00], [0x00]]));
  const body = (extra) => {
    const code = [0x00, ...Array(extra).fill(0x01), 0x0b]; // no locals, nops, end
    return [...uleb(code.length), ...code];
  };
  const code = section(10, vec([body(5), body(40)]));
  // Offset 0x0b0b: its LEB bytes are 0x8b 0x16, and 0x0b0b = 2827; 11 itself is 0x0b.
  const data = section(11, vec([
    [0x00, 0x41, ...sleb(11), 0x0b, ...uleb(3), 1, 2, 3],
    [0x01, ...uleb(4), 9, 9, 9, 9],
    [0x02, 0x00, 0x41, ...sleb(2827), 0x0b, ...uleb(2), 7, 7],
  ]));
  const fnNames = [1, ...uleb(vec([[...uleb(1), ...str('memberwire::core::workflow::Workflow::step')]]).length), ...vec([[...uleb(1), ...str('memberwire::core::workflow::Workflow::step')]])];
  const dataNames = [9, ...uleb(vec([[...uleb(0), ...str('.rodata')]]).length), ...vec([[...uleb(0), ...str('.rodata')]])];
  const names = section(0, [...str('name'), ...fnNames, ...dataNames]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...code, ...data, ...names]);
}

test('function bodies and data segments are read with their sizes and names', { timeout: 10_000 }, () => {
  const bytes = module();
  assert.ok(WebAssembly.validate(bytes), 'the module written out here is valid wasm');
  const { functions, segments } = sizesOf(bytes);
  assert.deepEqual(functions.map((f) => [f.index, f.size, f.name]), [
    [1, 7, 'memberwire::core::workflow::Workflow::step'],
    [2, 42, 'function 2'],
  ]);
  assert.deepEqual(segments.map((s) => [s.index, s.size, s.name]), [
    [0, 3, '.rodata'],
    [1, 4, 'data 1'],
    [2, 2, 'data 2'],
  ]);
  const { total, groups } = breakdown(bytes);
  assert.equal(total, 7 + 42 + 3 + 4 + 2, 'each body without its size prefix, each segment its bytes');
  assert.deepEqual(Object.fromEntries(groups.map((g) => [g.group, g.bytes])), {
    'the workflow': 7,
    'other code (core, std)': 42,
    'read-only data (messages, Unicode and float tables)': 9,
  });
});
