// The registration engine: accepts posts, records them durably, runs their workflows with the
// driver, resumes unfinished ones after a restart and retries parked ones. Host-independent:
// the host passes the wasm module and its ports (event store, directory, fetch, clock).

import { runWorkflow } from './driver.mjs';
import { crmQueue, tokenBucket, FRESH, BACKGROUND } from './crm-queue.mjs';

/** A delivery with more events than this runs them in the background line (see crm-queue.mjs). */
const FRESH_PER_POST = 10;

/**
 * @param {object} o
 * @param {object} o.wasm          the initialized wasm package (pkg/memberwire.js)
 * @param {object} o.config        RegistrarConfig (see pkg/memberwire.d.ts)
 * @param {object} o.events        event store port (js/adapters/*.mjs)
 * @param {object} o.directory     directory port: { apply(op), search(), get() }
 * @param {typeof fetch} [o.fetch]
 * @param {() => number} [o.now]
 * @param {(record: object) => void} [o.log]
 * @param {number|((config: object) => number|undefined)} [o.rateLimit]   CRM requests per second (Keap 10, ActiveCampaign 5; 0: none)
 * @param {(eventIds: string[]) => Promise<void>} [o.dispatch]  hands recorded events to a queue
 *   (Workers) instead of running them here; a consumer then calls runEvent() for each
 * @param {number} [o.leaseMs]  how long one runner holds an event (stores with `claim`)
 * @param {(password: string) => Promise<string>} [o.hashPassword]  bcrypt for the set-password
 *   form; hosts pass one that runs off their event loop (Node: a worker thread)
 * @param {number} [o.maxRunning]  workflows run at once (default 32); the others wait their turn,
 *   recorded and counted as running
 * @param {{ run(eventId: string, priority: number): Promise<object> }} [o.runner]  runs recorded
 *   events elsewhere (the Node server's registration thread, js/server/runner.mjs) and resolves
 *   to each one's final step: this engine then records, retries and resumes, and runs nothing
 * @param {(priority: number) => Promise<void>} [o.turn]  the CRM line to wait in, when it is
 *   another engine's (the registration thread waits in the main thread's); default: its own
 * @param {(err: Error) => void} [o.onFatal]  called when the wasm instance trapped
 *   (WebAssembly.RuntimeError): nothing more can run on it, and the host replaces it; the
 *   events it was running stay recorded as running and resume on the new one
 */
export function createEngine({ wasm, config, events, directory, fetch = globalThis.fetch, now = Date.now, log = () => {}, rateLimit, httpTimeoutMs, dispatch, leaseMs = 10 * 60_000, hashPassword, onFatal = () => {}, maxRunning = 32, runner, turn }) {
  // `let`: the settings screen can change the configuration while the process runs
  // (`reconfigure`); workflows already started keep the settings they started with.
  let registrar = new wasm.Registrar(config);
  let sources = [];
  const hash = hashPassword ?? (async (password) => registrar.hashNewPassword(password));
  // The CRM's documented limit comes from the core, with its client (CrmKind::requests_per_second).
  // 10% under the CRM's limit: its window and our clock do not start at the same instant.
  // No limit (a sandbox): every request's turn is now, with no call into the limiter.
  // `rateLimit` overrides it: a number, or a function of the configuration.
  const rateOf = (cfg) => {
    const given = typeof rateLimit === 'function' ? rateLimit(cfg) : rateLimit;
    return given ?? (cfg?.crm?.kind ? wasm.crmRateLimit(cfg.crm.kind) : 0);
  };
  const limiterFor = (cfg) => tokenBucket(rateOf(cfg) * 0.9, 1);
  let rateNow = rateOf(config);
  const running = new Map(); // eventId -> Promise of the final poll
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const queue = crmQueue(limiterFor(config), { now, sleep });
  let sweeping = false;
  // Set once the instance trapped (here or in the handler): no wasm object of this engine is freed
  // again. After a host resets the glue onto a fresh instance, an old pointer freed there would
  // free whatever the fresh instance keeps at that address.
  let abandoned = false;
  const free = (obj) => {
    if (abandoned || !obj) return;
    try {
      obj.free();
    } catch {
      // a trapped instance cannot free anything; it is dropped whole
    }
  };

  function portsFor(eventId, priority) {
    return {
      fetch: (url, init) => fetch(url, init),
      directory,
      turn: turn ?? queue.turn,
      priority,
      now,
      sleep,
      log,
      httpTimeoutMs,
      persist: (state) => events.progress(eventId, state),
    };
  }

  /**
   * The workflow saved with event `e`, or null when the saved state cannot be read (written by
   * another version, damaged): that event is parked with `state_unreadable` for an operator,
   * and the others go on.
   */
  async function restored(e) {
    try {
      return registrar.restore(e.state);
    } catch (err) {
      log({ level: 'warn', event: e.id, message: `its saved state cannot be read (${err?.code ?? err?.name ?? 'error'}); parked` });
      await events.park(e.id, { code: 'state_unreadable', reason: `the saved workflow state cannot be read: ${String(err?.message ?? err).slice(0, 200)}` }, null);
      return null;
    }
  }

  // At most `maxRunning` workflows run at once; the others wait for a slot, fresh posts first.
  // A burst of ten thousand posts is recorded at once and answered, but registered a bounded
  // number at a time: memory stays flat, and the posts still arriving are not starved of the
  // event loop by the registrations of those already answered.
  // A few slots are kept for fresh posts: a backlog of retries or resumed events never holds
  // them all.
  // Why 32: a CRM's rate limit (10 requests a second for Keap, 5 for ActiveCampaign, at most about
  // 20 for any of them) allows a few registrations at once, so more slots never register faster
  // against a real CRM; and where no CRM call waits (a sandbox, a generic source), registrations
  // are bound by the CPU, where more of them at once only take the event loop from the posts
  // arriving. Measured with `node bench/posts.mjs --only accept,complete`, one run after another
  // on one machine: 64 slots accepted 1,106 posts/s (p99 62 ms) and registered 772 events/s; 32
  // slots 1,419/s (p99 44 ms) and 752/s; 24 slots 1,420/s and 629/s.
  const backgroundMax = Math.max(1, maxRunning - Math.max(1, Math.floor(maxRunning / 8)));
  const active = [0, 0]; // fresh, background
  const waiting = [[], []];
  const line = (priority) => (priority === BACKGROUND ? 1 : 0);
  const room = (l) => active[0] + active[1] < maxRunning && (l === 0 || active[1] < backgroundMax);
  const slot = (priority) => {
    const l = line(priority);
    if (room(l) && !waiting[l].length) {
      active[l]++;
      return null;
    }
    return new Promise((resolve) => waiting[l].push(resolve));
  };
  const release = (priority) => {
    active[line(priority)]--;
    for (const l of [0, 1]) {
      while (waiting[l].length && room(l)) {
        active[l]++;
        waiting[l].shift()();
      }
    }
  };

  /**
   * Hands a recorded event to the runner; its promise is tracked like a local run's. `state`:
   * the state just recorded for it, which the runner then need not read back.
   */
  function handOver(id, priority, state) {
    if (running.has(id)) return running.get(id);
    const run = runner.run(id, priority, state).finally(() => running.delete(id));
    running.set(id, run);
    return run;
  }

  // Events written as running whose run has not started yet (their write is committed before
  // it is durable, and a resume or a retry reading the store meanwhile must not start them too).
  const claimed = new Set();

  function start(wf, priority = BACKGROUND, id = wf.eventId, state) {
    // One run per event: a second start joins the first.
    if (running.has(id)) {
      free(wf);
      return running.get(id);
    }
    if (runner) {
      free(wf);
      return handOver(id, priority, state);
    }
    const run = (async () => {
      const wait = slot(priority);
      if (wait) await wait;
      try {
        // The instance trapped while this one waited: it runs on the fresh one (recorded, it resumes).
        if (abandoned) return { state: 'pending', code: 'host_error', reason: 'the engine was replaced before this event ran; it resumes on the new one' };
        const final = await runWorkflow(wf, portsFor(id, priority));
        // The final record may reach the disk with the next durable write: a restart before that
        // replays from the last save (before the last CRM write) and ends the same way.
        if (final.state === 'done') await events.finish(id, final.outcome, final.save, { durable: false });
        else await events.park(id, { code: final.code, reason: final.reason }, final.save);
        return final;
      } catch (err) {
        // A broken port (disk full, store closed): the event stays recorded as running and is
        // resumed at the next start. A trapped instance: the host replaces it.
        log({ level: 'error', event: id, message: `workflow stopped: ${err?.code ?? err?.name ?? 'error'}` });
        if (err instanceof WebAssembly.RuntimeError) {
          abandoned = true;
          // The store still works: the event's lease goes, so the fresh instance can take it.
          await events.release?.(id).catch(() => {});
          onFatal(err);
        }
        return { state: 'pending', code: 'host_error', reason: 'the host failed while running this event; it resumes at the next start' };
      } finally {
        running.delete(id);
        free(wf);
        release(priority);
      }
    })();
    running.set(id, run);
    return run;
  }

  /** Records accepted workflows durably, then queues or starts them. */
  async function record(source, wfs, t, given, priority) {
    let records;
    try {
      records = given ?? wfs.map((wf) => wf.record());
      for (const r of records) claimed.add(r.eventId);
      await events.accept(
        records.map((r) => ({
          id: r.eventId,
          source,
          receivedAt: t,
          contactKey: r.contactKey,
          contact: summary(r.contact),
          state: r.state,
        })),
      );
    } catch (err) {
      for (const r of records ?? []) claimed.delete(r.eventId);
      for (const wf of wfs) free(wf);
      throw err;
    }
    for (const r of records) claimed.delete(r.eventId);
    if (dispatch) {
      // Recorded: the queue carries them from here (a failed send is re-driven by the cron).
      const ids = records.map((r) => r.eventId);
      for (const wf of wfs) free(wf);
      await dispatch(ids).catch((err) => log({ level: 'warn', event: ids[0], message: `not queued yet (${err?.name ?? 'error'}); the re-drive picks it up` }));
      return { kind: 'events', queued: ids };
    }
    // A post's first few events go in the fresh line; the bulk of a large delivery waits behind
    // other posts' fresh events.
    // (With a runner it restores each workflow from its state: those made here are freed.)
    if (runner) for (const wf of wfs) free(wf);
    return {
      kind: 'events',
      runs: records.map((r, i) => {
        const p = priority ?? (i < FRESH_PER_POST ? FRESH : BACKGROUND);
        return { eventId: r.eventId, done: runner ? handOver(r.eventId, p, r.state) : start(wfs[i], p, r.eventId) };
      }),
    };
  }

  return {
    /** The registrar new posts are read with (replaced by `reconfigure`). */
    get registrar() {
      return registrar;
    },

    /**
     * Applies new settings (the CRM connection, the password mode, ...) to every post from now
     * on: the core checks them first and throws `invalid_config` (the old ones stay) when they
     * cannot work. Workflows already running finish with the settings they started with.
     */
    reconfigure(next) {
      const fresh = new wasm.Registrar(next);
      if (sources.length) fresh.setSources(sources);
      // The old registrar is not freed: a host's session store may still hash with it.
      registrar = fresh;
      // A new bucket only for a new rate: the one in use knows the requests just sent.
      if (rateOf(next) !== rateNow) {
        rateNow = rateOf(next);
        queue.setLimiter(limiterFor(next));
      }
    },

    /**
     * Resolves when a request to the CRM may be sent: the one line every CRM call of this
     * process waits in (registrations, bulk runs, the admin page's calls), kept under the CRM's limit.
     */
    crmTurn: (priority = FRESH) => queue.turn(priority),

    /** CRM requests per second for a configuration (0: no limit), as this engine paces them. */
    crmRate: (cfg) => rateOf(cfg),

    /** The host found the instance trapped: this engine frees nothing more (its objects are stale). */
    abandon() {
      abandoned = true;
    },

    /**
     * Parses a post, records every event durably, starts their workflows. Throws the wasm
     * MemberwireError (with `code` and `status`) for a bad post.
     * @returns {Promise<{kind: string, runs?: {eventId: string, done: Promise<object>}[], reason?: string}>}
     */
    async accept(source, headers, body) {
      const t = now();
      // A mapped source comes as its route (/hooks/mapped/NAME): the core finds the mapping by
      // the name; its events are recorded as `mapped`, with the name as their event type.
      // Where the events run elsewhere, the core makes only their records (no workflow to free).
      const accepted = registrar.accept(source, headers, body, t, Boolean(runner || dispatch));
      if (accepted.kind !== 'events') return { kind: accepted.kind, reason: accepted.reason };
      return record(source.startsWith('/hooks/mapped/') ? 'mapped' : source, accepted.workflows, t, accepted.records);
    },

    /** The owner's mapped sources (already checked: `wasm.checkSources`), read by every later post. */
    setSources(list) {
      registrar.setSources(list);
      sources = list;
    },

    /**
     * An administrator's refresh of the member linked to `contactId` (tags and names from the
     * CRM; new credentials and the welcome tag when asked), recorded and run like a post's event.
     */
    async refresh(contactId, { credentials = false, welcome = false } = {}) {
      const t = now();
      return record('refresh', [registrar.refresh(String(contactId), credentials, welcome, t)], t);
    },

    /**
     * Registers contact `contactId` of the connected CRM (with its email, when known), recorded
     * and run like a post's event, without a post to build and parse: the admin page's "add with
     * a welcome" (`source` 'admin') and bulk runs ('bulk', in the background line, so webhook
     * posts go first). Throws the wasm MemberwireError for a bad contact id or email.
     */
    async register(contactId, { email, source = 'admin', background = false } = {}) {
      const t = now();
      return record(source, [registrar.register(String(contactId), email ?? undefined, t)], t, undefined, background ? BACKGROUND : undefined);
    },

    /**
     * Runs one recorded event to its end (a queue consumer's call): a finished event is not run
     * again, a parked one is retried, and with a store that leases events only one runner at a
     * time gets it (`{state: 'busy'}` for the others). Redelivery never repeats a finished step:
     * the workflow resumes from its saved state.
     */
    async runEvent(eventId, priority = BACKGROUND, recorded, { resumeOnly = false } = {}) {
      if (running.has(eventId)) return running.get(eventId);
      if (runner) return handOver(eventId, priority, recorded);
      if (claimed.has(eventId)) return { state: 'busy' };
      claimed.add(eventId);
      let wf;
      try {
        // `recorded`: the state the recording engine just wrote for it, running (no read back).
        const e = recorded !== undefined ? { id: eventId, status: 'running', state: recorded } : await events.get(eventId);
        if (!e) return { state: 'missing' };
        if (e.status === 'done') return { state: 'done', outcome: e.outcome };
        // A resume leaves a parked event to its retry schedule (a queue's redelivery retries it).
        if (resumeOnly && e.status === 'pending') return { state: 'pending', code: e.pending?.code ?? 'pending', reason: e.pending?.reason ?? '' };
        if (events.claim && !(await events.claim(eventId, now(), leaseMs))) return { state: 'busy' };
        wf = await restored(e);
        if (!wf) return { state: 'pending', code: 'state_unreadable' };
        if (e.status === 'pending') {
          wf.retry();
          await events.progress(eventId, wf.save(), 'running');
        }
      } catch (err) {
        if (wf) free(wf);
        throw err;
      } finally {
        claimed.delete(eventId);
      }
      return start(wf, priority, eventId);
    },

    /** Events left running with no runner (a consumer that died): hands them to `dispatch` again. */
    async redrive(olderThanMs = 60_000) {
      const list = await events.stale(now() - olderThanMs, now());
      if (list.length && dispatch) await dispatch(list.map((e) => e.id));
      return list.length;
    },

    /** Resumes every event that was accepted but not finished (after a restart). */
    async resumeUnfinished() {
      const list = await events.unfinished();
      for (const e of list) {
        if (running.has(e.id) || claimed.has(e.id)) continue;
        // The runner restores each from the store itself, as it is then.
        if (runner) {
          handOver(e.id, BACKGROUND);
          continue;
        }
        // The list may be old by now (this loop awaits): each is claimed, then read again, and
        // started only if it is still running with nobody running it.
        claimed.add(e.id);
        let wf = null;
        try {
          const current = await events.get(e.id);
          if (current?.status === 'running') wf = await restored(current);
        } finally {
          claimed.delete(e.id);
        }
        if (wf) start(wf, BACKGROUND, e.id);
      }
      return list.length;
    },

    /** Retries a parked event now (the admin page's retry button, or the retry timer). */
    async retry(eventId) {
      if (running.has(eventId)) return running.get(eventId);
      if (claimed.has(eventId)) return { state: 'running' };
      claimed.add(eventId);
      let wf;
      let saved;
      try {
        const e = await events.get(eventId);
        if (!e) return null;
        if (e.status !== 'pending') return { state: e.status, outcome: e.outcome };
        wf = await restored(e);
        if (!wf) return { state: 'pending', code: 'state_unreadable' };
        wf.retry();
        saved = wf.save();
        await events.progress(eventId, saved, 'running');
      } catch (err) {
        if (wf) free(wf);
        throw err;
      } finally {
        claimed.delete(eventId);
      }
      if (dispatch) {
        free(wf);
        await dispatch([eventId]);
        return { state: 'queued' };
      }
      return start(wf, BACKGROUND, eventId, saved);
    },

    /**
     * Retries the parked events whose automatic retry is due (the schedule backs off: see
     * js/adapters/retry-schedule.mjs), one at a time and in the background line, so fresh posts
     * go first. Hosts call it on a timer; a sweep still going is not started again.
     */
    async retryPending() {
      if (sweeping) return 0;
      sweeping = true;
      try {
        const list = await events.due(now());
        for (const e of list) await this.retry(e.id);
        return list.length;
      } finally {
        sweeping = false;
      }
    },

    /**
     * Consumes a set-password token and sets the member's password. The cheap checks come
     * first (the token's shape, the password policy, then the token itself in the directory),
     * so nothing slow runs for a token that is not live; bcrypt runs last, through the host's
     * hasher.
     */
    async setPassword(token, password) {
      if (typeof token !== 'string' || token.length < 20 || token.length > 100) return { ok: false, code: 'invalid_token' };
      // A rejected password throws password_rejected before the token is used up: the link stays alive.
      registrar.checkNewPassword(password);
      const consumed = await directory.apply({ op: 'consume_token', tokenHash: wasm.tokenDigest(token), now: now() });
      if (consumed.result !== 'token_consumed') return { ok: false, code: 'invalid_token' };
      const passwordHash = await hash(password);
      const set = await directory.apply({ op: 'set_password', memberId: consumed.member.id, passwordHash, now: now() });
      if (set.result !== 'password_set') return { ok: false, code: 'invalid_token' };
      return { ok: true, email: set.member.email };
    },

    /** Waits for every workflow started so far (tests, graceful shutdown). */
    async idle() {
      while (running.size) await Promise.allSettled([...running.values()]);
    },

    get runningCount() {
      return running.size;
    },

    /** Event counts by state, for /health with the access key. */
    async counts() {
      return events.counts();
    },
  };
}

/** What the activity list shows of a contact: never a password. */
function summary(contact) {
  return {
    crm: contact.crm,
    contactId: contact.contactId,
    email: contact.email ?? null,
    tags: contact.tags ?? null,
  };
}
