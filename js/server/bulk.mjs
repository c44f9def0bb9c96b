// Bulk runs: plan a contact list (a CSV export, or every contact carrying a CRM tag) against the
// directory with the wasm's planner, then run it: one registration per planned row, started as
// a minimal CRM post through the engine (the same path as a post from the CRM), a few at a time
// so the engine's CRM rate limiter sets the pace.
//
// Durable in the host's store: a plan is one row (written once), a run is one row replaced as it
// advances (started rows with their event ids, counts, state). After a restart a run that was
// running continues where it stopped, and rows that were in flight are followed through their
// events (the engine resumes those itself). On Workers the rows are queued events, followed in
// the store until they end.
//
// Rows that are run: the plan's created, linked, updated and existing rows (existing ones have
// their tags refreshed); conflicts and invalid rows are reported and not run.

const RUNNABLE = new Set(['created', 'linked', 'updated', 'existing']);
const OUTCOMES = ['created', 'linked', 'existing', 'updated', 'conflict'];
const ID_RE = /^[a-z0-9_]{4,64}$/;
const MAX_CONFLICTS_SHOWN = 1000;

function httpError(status, code, message) {
  const e = new Error(message);
  e.status = status;
  e.code = code;
  return e;
}

function newId(prefix, now) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `${prefix}_${now().toString(36)}${Buffer.from(bytes).toString('hex')}`;
}

const csvCell = (v) => `"${String(v ?? '').replace(/"/g, '""')}"`;

/** A CSV export (the columns the wasm planner reads) of contacts listed from the CRM. */
export function contactsToCsv(contacts) {
  const lines = ['Id,Email,First Name,Last Name'];
  for (const c of contacts) lines.push([c.contactId, c.email, c.firstName, c.lastName].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}

const blank = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0]));

/** Applies one change record (a run's whole state, `t: 'run'`, or a step of it) to `runs`. */
export function applyRecord(runs, r) {
  if (r.t === 'run') {
    runs.set(r.runId, {
      runId: r.runId,
      planId: r.planId,
      total: r.total,
      next: r.next ?? 0,
      done: r.done ?? 0,
      failed: r.failed ?? 0,
      counts: { ...blank(), ...(r.counts ?? {}) },
      state: r.state ?? 'running',
      createdAt: r.createdAt,
      updatedAt: r.updatedAt ?? r.createdAt,
      inflight: new Map(Object.entries(r.inflight ?? {}).map(([i, ev]) => [Number(i), ev])),
      waiting: new Set(),
      pump: null,
    });
    return;
  }
  const run = runs.get(r.runId);
  if (!run) return;
  run.updatedAt = r.at ?? run.updatedAt;
  if (r.t === 'started') {
    run.inflight.set(r.i, r.eventId);
    run.next = Math.max(run.next, r.i + 1);
  } else if (r.t === 'result') {
    if (!run.inflight.delete(r.i) && r.i >= run.next) run.next = r.i + 1;
    run.done += 1;
    if (r.failed) run.failed += 1;
    else if (r.outcome in run.counts) run.counts[r.outcome] += 1;
  } else if (r.t === 'state') {
    run.state = r.state;
  }
}

/** A run's whole state as a record (`t: 'run'`): what the store keeps, one row per run. */
export function serialize(run) {
  return {
    t: 'run',
    runId: run.runId,
    planId: run.planId,
    total: run.total,
    next: run.next,
    done: run.done,
    failed: run.failed,
    counts: { ...run.counts },
    state: run.state,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    inflight: Object.fromEntries(run.inflight),
  };
}

/**
 * @param {object} o
 * @param {object} o.wasm
 * @param {object} o.store       the host's store (its `bulk` runs and plans); null: memory only
 * @param {object} o.directory   directory port (search, get, planImport)
 * @param {object} o.engine      accept(), retry()
 * @param {object} o.events      event store port (get)
 * @param {object} o.crm         the CrmConfig (kind)
 * @param {object} o.crmClient   tagContacts()
 * @param {string} [o.account]
 * @param {number} [o.concurrency]
 * @param {() => number} [o.now]
 * @param {(line: string) => void} [o.log]
 */
export async function openBulk({ wasm, store, directory, engine, events, crm, crmClient, account = 'default', concurrency = 4, now = Date.now, log = () => {} }) {
  const runs = new Map();
  const plans = new Map(); // planId -> plan (memory-only stores, and a cache)
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  let closed = false;

  const apply = (r) => applyRecord(runs, r);

  // Each change is applied, then the run's whole state replaces its row: the store runs writes
  // in call order, so the row always ends at the latest state.
  async function write(record) {
    apply(record);
    if (!store) return;
    const run = runs.get(record.runId);
    if (run) await store.bulk.putRun(serialize(run));
  }

  if (store) for (const r of await store.bulk.runs()) apply(r);

  // ---- planning ----------------------------------------------------------------------------

  function planAgainstDirectory(csv) {
    return directory.planImport(csv, crm.kind, account);
  }

  async function savePlan(plan) {
    plans.set(plan.planId, plan);
    if (store) await store.bulk.putPlan(plan);
  }

  async function loadPlan(planId) {
    if (!ID_RE.test(planId ?? '')) return null;
    if (plans.has(planId)) return plans.get(planId);
    if (!store) return null;
    const plan = await store.bulk.getPlan(planId);
    if (!plan) return null;
    plans.set(planId, plan);
    return plan;
  }

  // ---- running -----------------------------------------------------------------------------

  function checkCrm() {
    if (!crm?.kind || crm.kind === 'generic') throw httpError(400, 'not_supported', 'bulk runs need a connected CRM');
  }

  /** Follows an event accepted before a restart until it is done or parked. */
  async function followEvent(eventId) {
    for (;;) {
      if (closed) return null;
      const e = await events.get(eventId);
      if (!e) return { state: 'pending', code: 'lost' };
      if (e.status === 'done') return { state: 'done', outcome: e.outcome };
      if (e.status === 'pending') return { state: 'pending', code: e.pending?.code };
      // Running: the engine hands back its promise when it has the workflow in hand.
      const r = await engine.retry(eventId);
      if (r && (r.state === 'done' || r.state === 'pending')) return r;
      await sleep(250);
    }
  }

  async function finishRow(run, i, final) {
    if (!final || closed) return;
    run.waiting.delete(i);
    await write({
      t: 'result',
      runId: run.runId,
      i,
      outcome: final.state === 'done' ? final.outcome?.outcome ?? null : null,
      failed: final.state !== 'done',
      code: final.state === 'done' ? undefined : final.code ?? 'failed',
      at: now(),
    });
  }

  function follow(run, i, promise) {
    run.waiting.add(i);
    return promise
      .catch(() => ({ state: 'pending', code: 'host_error' }))
      .then((final) => finishRow(run, i, final))
      .catch((err) => log(`bulk: ${run.runId}: could not record row ${i}: ${err?.code ?? err?.name ?? 'error'}`));
  }

  async function startRow(run, plan, i) {
    const row = plan.rows[i];
    let accepted;
    try {
      checkCrm();
      // Each row is an ordinary registration of its contact, in the background line.
      accepted = await engine.register(row.contactId, { email: row.email, source: 'bulk', background: true });
    } catch (err) {
      // A row the parser refuses (the plan read it, so this is rare): a failed row.
      await write({ t: 'started', runId: run.runId, i, eventId: null, at: now() });
      await write({ t: 'result', runId: run.runId, i, outcome: null, failed: true, code: err?.code ?? 'rejected', at: now() });
      return null;
    }
    if (!(accepted.runs?.length || accepted.queued?.length)) {
      await write({ t: 'started', runId: run.runId, i, eventId: null, at: now() });
      await write({ t: 'result', runId: run.runId, i, outcome: null, failed: true, code: 'ignored', at: now() });
      return null;
    }
    // Run here, or (Workers) queued: then follow the event in the store until it ends.
    const { eventId, done } = accepted.runs?.[0] ?? { eventId: accepted.queued[0], done: followEvent(accepted.queued[0]) };
    await write({ t: 'started', runId: run.runId, i, eventId, at: now() });
    return follow(run, i, done);
  }

  async function pump(run) {
    const plan = await loadPlan(run.planId);
    if (!plan) {
      await write({ t: 'state', runId: run.runId, state: 'cancelled', at: now() });
      log(`bulk: ${run.runId}: its plan is gone; cancelled`);
      return;
    }
    const active = new Set();
    const track = (p) => {
      if (!p) return;
      const t = p.finally(() => active.delete(t));
      active.add(t);
    };
    for (const [i, eventId] of run.inflight) {
      if (run.waiting.has(i)) continue;
      track(eventId ? follow(run, i, followEvent(eventId)) : finishRow(run, i, { state: 'pending', code: 'lost' }));
    }
    while (!closed && run.state === 'running' && run.next < run.total) {
      while (active.size >= concurrency) await Promise.race(active);
      if (closed || run.state !== 'running') break;
      track(await startRow(run, plan, run.next));
    }
    while (active.size) await Promise.race(active);
    if (!closed && run.state === 'running' && run.next >= run.total && run.inflight.size === 0) {
      await write({ t: 'state', runId: run.runId, state: 'finished', at: now() });
      log(`bulk: ${run.runId} finished: ${run.done} rows, ${run.failed} failed`);
    }
  }

  function kick(run) {
    if (run.pump) return run.pump;
    run.pump = (async () => {
      try {
        // A resume while the pump winds down: go round again.
        do await pump(run);
        while (!closed && run.state === 'running' && run.next < run.total);
      } catch (err) {
        log(`bulk: ${run.runId} stopped: ${err?.code ?? err?.name ?? 'error'}`);
      } finally {
        run.pump = null;
      }
    })();
    return run.pump;
  }

  const view = (run) => ({
    runId: run.runId,
    planId: run.planId,
    total: run.total,
    done: run.done,
    failed: run.failed,
    state: run.state,
    counts: { ...run.counts },
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  });

  return {
    /** Plans a CSV export, or every contact with CRM tag `tag`; stores the plan. */
    async plan({ csv, tag }) {
      let text;
      let source;
      if (typeof csv === 'string') {
        text = csv;
        source = 'csv';
      } else if (tag !== undefined && tag !== null && tag !== '') {
        text = contactsToCsv(await crmClient.tagContacts(tag));
        source = `tag:${tag}`;
      } else {
        throw httpError(400, 'malformed_body', 'send {"csv": "..."} or {"tag": TAG_ID}');
      }
      const p = await planAgainstDirectory(text);
      const planId = newId('plan', now);
      const rows = p.rows.filter((r) => RUNNABLE.has(r.outcome)).map((r) => ({ row: r.row, contactId: r.contactId, email: r.email, outcome: r.outcome }));
      const conflicts = p.rows
        .filter((r) => r.outcome === 'conflict')
        .map((r) => ({ row: r.row, email: r.email, contactId: r.contactId, reason: r.reason ?? null, otherMember: r.otherMember ?? null }));
      const answer = {
        planId,
        source,
        rows: p.rows.length + p.invalid.length,
        run: rows.length,
        counts: p.counts,
        conflicts: conflicts.slice(0, MAX_CONFLICTS_SHOWN),
        invalid: p.invalid.slice(0, MAX_CONFLICTS_SHOWN),
      };
      await savePlan({ ...answer, createdAt: now(), crm: crm.kind, account, rows: rows, rowCount: answer.rows });
      return answer;
    },

    /** Starts running a plan; one run per plan (resume it to continue). */
    async run(planId) {
      const plan = await loadPlan(planId);
      if (!plan) throw httpError(404, 'not_found', 'no such plan: plan the list again');
      for (const r of runs.values()) {
        if (r.planId === planId) throw httpError(409, 'already_run', `this plan already has run ${r.runId}: resume that one`);
      }
      const runId = newId('run', now);
      await write({ t: 'run', runId, planId, total: plan.rows.length, state: 'running', createdAt: now() });
      log(`bulk: ${runId} started: ${plan.rows.length} rows`);
      kick(runs.get(runId));
      return { runId };
    },

    get(runId) {
      const run = runs.get(runId);
      return run ? view(run) : null;
    },

    list() {
      return [...runs.values()].sort((a, b) => b.createdAt - a.createdAt).map(view);
    },

    /** Stops starting rows; rows in flight finish and are counted. */
    async cancel(runId) {
      const run = runs.get(runId);
      if (!run) throw httpError(404, 'not_found', 'no such run');
      if (run.state === 'running') {
        await write({ t: 'state', runId, state: 'cancelled', at: now() });
        log(`bulk: ${runId} cancelled after ${run.next} of ${run.total} rows`);
      }
      return view(run);
    },

    /** Continues a cancelled run where it stopped. */
    async resume(runId) {
      const run = runs.get(runId);
      if (!run) throw httpError(404, 'not_found', 'no such run');
      if (run.state === 'cancelled') {
        await write({ t: 'state', runId, state: 'running', at: now() });
        log(`bulk: ${runId} resumed at row ${run.next} of ${run.total}`);
      }
      if (run.state === 'running') kick(run);
      return view(run);
    },

    /** After a restart: continues runs that were running (call once the engine has resumed its events). */
    resumeAll() {
      let n = 0;
      for (const run of runs.values()) {
        if (run.state === 'running') {
          kick(run);
          n += 1;
        }
      }
      return n;
    },

    /** Waits for every run's rows in flight (tests, shutdown). */
    async idle() {
      for (;;) {
        const pumps = [...runs.values()].map((r) => r.pump).filter(Boolean);
        if (!pumps.length) return;
        await Promise.allSettled(pumps);
      }
    },

    /** Stops starting rows and recording results (the store is about to close). */
    close() {
      closed = true;
    },
  };
}
