// The worker thread of js/server/hasher.mjs: hashes passwords with its own wasm instance.
import { parentPort, workerData } from 'node:worker_threads';
import { loadWasm } from '../hosts/node.mjs';

const wasm = loadWasm();
const policy = {};
if (workerData.bcryptCost) policy.bcryptCost = workerData.bcryptCost;
if (workerData.minCrmPassword) policy.minCrmPassword = workerData.minCrmPassword;
const registrar = new wasm.Registrar(policy);

parentPort.on('message', ({ id, password }) => {
  try {
    parentPort.postMessage({ id, hash: registrar.hashNewPassword(password) });
  } catch (err) {
    parentPort.postMessage({ id, error: { code: err?.code ?? 'internal', status: err?.status ?? 500, message: String(err?.message ?? err) } });
  }
});
