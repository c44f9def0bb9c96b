// One cold start in a fresh Node process: compile the wasm, instantiate it, parse a first post.
// Prints {compileMs, instantiateMs, firstParseMs, totalMs}. Run by bench/startup.mjs.
import { readFileSync } from 'node:fs';
import * as wasm from '../pkg/memberwire.js';

const bytes = readFileSync(new URL('../pkg/memberwire_bg.wasm', import.meta.url));
// Inputs are made before the clock starts: Node loads its Headers class lazily on first use,
// which is Node's cost, not memberwire's.
const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
const body = new TextEncoder().encode('contactId=101&Email=Ada.Lovelace%40Example.com&FirstName=Ada&Groups=91%2C93');
const t0 = performance.now();
const module = new WebAssembly.Module(bytes);
const t1 = performance.now();
wasm.initSync({ module });
const t2 = performance.now();
const out = wasm.parsePost('keap_post', headers, body);
const t3 = performance.now();
if (out.kind !== 'events' || out.events[0].contact.email !== 'ada.lovelace@example.com') throw new Error('bad parse');
console.log(JSON.stringify({ compileMs: t1 - t0, instantiateMs: t2 - t1, firstParseMs: t3 - t2, totalMs: t3 - t0 }));
