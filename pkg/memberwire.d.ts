/* tslint:disable */
/* eslint-disable */

/** A stable machine-readable error code (see the README's error table). */
export type ErrorCode =
| "malformed_body" | "unsupported_content_type" | "body_too_large" | "missing_contact_id"
| "invalid_contact_id" | "invalid_email" | "field_too_large" | "invalid_field"
| "too_many_objects" | "unknown_source" | "password_rejected" | "invalid_config";

/** Errors thrown by memberwire functions are `Error`s with these two extra properties. */
export interface MemberwireError extends Error {
    code: ErrorCode;
    /** The HTTP status a host answers with. */
    status: number;
}

export type SourceName = "keap_post" | "keap_rest" | "activecampaign" | "kit" | "drip" | "mailerlite" | "highlevel" | "hubspot" | "mailchimp" | "json" | "mapped";
export type CrmKind = "keap" | "activecampaign" | "kit" | "drip" | "mailerlite" | "highlevel" | "hubspot" | "mailchimp" | "generic";

export interface ParseOptions {
    /** Which account of the CRM posts come from. Default "default". */
    account?: string;
    /** The field that carries the member's password, if the site uses one. */
    passwordField?: string | null;
    /** Bodies over this many bytes are refused with body_too_large. Default 1 MiB. */
    maxBodyBytes?: number;
    /** Other fields kept with an event, by name (an allow-list; default none). */
    keepFields?: string[];
    /** The mapped source a post to /hooks/mapped/NAME is read with. */
    mapped?: MappedSource | null;
}

/** Where a webhook's JSON carries each part of a contact: paths of keys joined by dots (`data.subscriber.id`; a part of digits indexes an array). */
export interface JsonMapping {
    each?: string;
    contactId: string;
    email?: string;
    firstName?: string;
    lastName?: string;
    tags?: string;
    password?: string;
    eventType?: string;
    fields?: string;
}

/** A source an owner defines: posts go to /hooks/mapped/NAME. */
export interface MappedSource {
    name: string;
    crm?: Exclude<CrmKind, "generic">;
    mapping: JsonMapping;
}

export interface Tag {
    id?: string;
    name?: string;
}

export interface Contact {
    crm: CrmKind;
    account: string;
    /** Exactly as the CRM wrote it: never a float. */
    contactId: string;
    /** Trimmed and lower-cased. */
    email?: string;
    firstName?: string;
    lastName?: string;
    /** Absent when the post said nothing about tags. */
    tags?: Tag[];
    /** True when the configured password field had a value; the value never crosses. */
    hasPassword?: true;
    fields?: Record<string, string>;
    /** The contact's id before an email change re-keyed it (Mailchimp's `upemail`). */
    previousId?: string;
}

export interface InboundEvent {
    source: SourceName;
    eventType: string;
    contact: Contact;
}

export interface HttpRequest {
    method: string;
    url: string;
    /** Carries the CRM's API token: never log it. */
    headers: [string, string][];
    body?: string;
}

export interface MemberView {
    id: string;
    email: string;
    contactId?: string;
    tags: Tag[];
}

/** A member as the directory stores it, without its password hash. */
export interface MemberRecord {
    id: string;
    version: number;
    email: string;
    contact?: { crm: CrmKind; account: string; contactId: string };
    firstName?: string;
    lastName?: string;
    tags: Tag[];
    credentials: "none" | "link_issued" | "password";
    welcome: "not_sent" | "pending" | "sent";
    hasPassword: boolean;
    createdBy?: string;
    createdAt: number;
    updatedAt: number;
}

export type DirOp =
| { op: "get_by_contact"; key: string }
| { op: "get_by_email"; email: string }
| { op: "insert"; member: object }
| { op: "update"; member: object }
| { op: "put_token"; tokenHash: string; memberId: string; expiresAt: number }
| { op: "consume_token"; tokenHash: string; now: number }
| { op: "set_password"; memberId: string; passwordHash: string; now: number };

/** What the directory answers; `member` objects here include the stored hash. */
export type DirResult = { result: string; [field: string]: unknown };

/** A member as a SQL store keeps it (see migrations/): identity columns plus `data`. */
export interface StoredMember {
    /** The normalized email (the `email` identity). */
    email: string;
    /** `crm:account:id` (the `contact` identity), or null for a member with no contact. */
    contactKey: string | null;
    credentials: "none" | "link_issued" | "password";
    /** Lower-cased email, contact id and names, one per line, for the admin search. */
    search: string;
    /** Everything else as JSON text. */
    data: string;
}

export type DirChange =
| { kind: "member"; member: object }
| { kind: "token"; token: { tokenHash: string; memberId: string; expiresAt: number } };

export type Effect =
| { type: "http"; purpose: "load_contact" | "check_welcome_tag" | "write_credentials" | "apply_welcome_tag"; request: HttpRequest }
| { type: "directory"; op: DirOp }
| { type: "random"; bytes: number }
| { type: "sleep"; ms: number }
| { type: "log"; record: { level: "info" | "warn"; event: string; message: string } };

export type EffectResult =
| { type: "http"; response: { status: number; body: string; retryAfter?: number | null } }
| { type: "http_failed"; message: string }
| { type: "directory"; result: DirResult }
| { type: "slept" }
| { type: "logged" };

export type OutcomeKind = "created" | "linked" | "existing" | "updated" | "conflict";

export interface Outcome {
    outcome: OutcomeKind;
    event: string;
    member?: MemberView;
    conflict?: { reason: string; otherMember: string; member?: string };
    credentials: "unchanged" | "link_sent" | "crm_password" | "generated_password";
    welcome: "not_applicable" | "applied" | "already_applied";
}

export type Poll =
| { state: "effect"; effect: Effect }
| { state: "done"; outcome: Outcome }
| { state: "pending"; code: string; reason: string };

export interface LogRecord {
    level: "info" | "warn";
    event: string;
    message: string;
}

/**
 * What `Workflow.step` returns: the next effect for the host to perform (never `random` or
 * `log`: those are answered inside wasm), or the end. `logs` are the records to write now;
 * `save`, when present, is the state the host must persist before it performs `effect` (a CRM
 * write; at the end it is always present).
 */
export type Step =
| { state: "effect"; effect: Exclude<Effect, { type: "random" } | { type: "log" }>; logs?: LogRecord[]; save?: string }
| { state: "done"; outcome: Outcome; logs?: LogRecord[]; save: string }
| { state: "pending"; code: string; reason: string; logs?: LogRecord[]; save: string };

/** A new workflow's record for the event store, read in one call. */
export interface WorkflowRecord {
    eventId: string;
    contactKey: string;
    contact: Contact;
    state: string;
}

export interface CrmConfig {
    kind: Exclude<CrmKind, "generic">;
    baseUrl: string;
    token: string;
    passwordField?: string | null;
    passwordFieldMax?: number | null;
    linkField?: string | null;
    welcomeTag?: string | null;
    accountId?: string | null;
}

export interface RegistrarConfig {
    crm?: CrmConfig | null;
    passwordMode?: "link" | "crm";
    linkUrl?: string;
    linkTtlMs?: number;
    passwordLength?: number;
    minCrmPassword?: number;
    bcryptCost?: number;
    maxAttempts?: number;
    retryBaseMs?: number;
    retryCapMs?: number;
    parse?: ParseOptions;
}

export type Accepted =
| { kind: "events"; workflows: Workflow[]; records: WorkflowRecord[] }
| { kind: "hook_verification" }
| { kind: "ignored"; reason: string };

/** A level granted by tags: tag ids or names (names compare case-insensitively). */
export interface Rule {
    id: string;
    level: string;
    anyOf?: string[];
    allOf?: string[];
    noneOf?: string[];
}

export interface TagSyncPreview {
    add: Tag[];
    remove: Tag[];
    keep: Tag[];
    levelsGained: string[];
    levelsLost: string[];
}

export interface LevelImpact {
    level: string;
    before: number;
    after: number;
    gain: number;
    lose: number;
}

export interface CrmContact {
    email?: string | null;
    firstName?: string | null;
    lastName?: string | null;
    tags: Tag[];
    hasPassword: boolean;
}

export interface ImportPlan {
    counts: { created: number; linked: number; existing: number; updated: number; conflict: number; invalid: number };
    rows: { row: number; contactId: string; email: string; outcome: OutcomeKind; reason?: string; otherMember?: string }[];
    invalid: { row: number; message: string }[];
}

export type Inbound =
| { kind: "events"; events: InboundEvent[] }
/** Keap REST hook verification: answer 200 echoing the X-Hook-Secret header. */
| { kind: "hook_verification" }
| { kind: "ignored"; reason: string };



/**
 * Every member's tags, indexed once; `impact` recomputes rule changes over all of them.
 */
export class AccessIndex {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Per level: members before, after, gaining and losing it.
     */
    impact(before: Rule[], after: Rule[]): { members: number; levels: LevelImpact[] };
    /**
     * `names`: the CRM's catalog of tags (`[{id, name}]`), whose names fill in tags that carry
     * only their id, so that rules naming a tag match them.
     */
    constructor(members: { id?: string; tags: Tag[] }[], names: { id: string; name: string }[] | undefined);
    readonly size: number;
}

export class Directory {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Every member's id and tags as JSON text (`[{"id", "tags"}]`), for the admin page's
     * rule-impact index: one pass, no per-member JS objects on the server.
     */
    accessIndexJson(): string;
    /**
     * Performs one operation atomically: `{result, changes}`; a host journals `changes`
     * (durably) before handing `result` back.
     */
    apply(op: DirOp): { result: DirResult; changes: DirChange[] };
    /**
     * Builds the directory from a CSV export, one member per row (taken contacts or emails are
     * skipped). This bypasses a host's journal: it is for offline planning and benchmarks, not
     * for a durable directory. Returns how many members were inserted.
     */
    bulkLoadUnjournaled(csv: string, crm: string, account: string): number;
    /**
     * A member as hosts may show it (no password hash), or `undefined`.
     */
    get(id: string): MemberRecord | undefined;
    /**
     * Loads members stored elsewhere (a JSON array of member records, as a SQL store reads
     * them back), for planning against that store: one crossing for the whole list. Returns
     * how many were loaded.
     */
    loadMembersJson(json: string): number;
    constructor();
    /**
     * Plans a CSV import and returns only the counts and the first 100 conflicts (for lists
     * too large to send every row back to JS).
     */
    planImportCounts(csv: string, crm: string, account: string): { counts: ImportPlan['counts']; conflicts: ImportPlan['rows'] };
    /**
     * Plans a CSV import against this directory (nothing is changed).
     */
    planImport(csv: string, crm: string, account: string): ImportPlan;
    /**
     * Replays one journaled change.
     */
    replay(change: DirChange): void;
    /**
     * The members whose email, name or contact id contains `query` (case-insensitive), newest
     * first, `limit` from `offset`: `{total, members}`.
     */
    search(query: string, offset: number, limit: number): { total: number; members: MemberRecord[] };
    /**
     * Every member and live token as changes: a host's snapshot.
     */
    snapshot(): DirChange[];
    readonly size: number;
}

export class Registrar {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Parses one post and starts a workflow per contact it names, each with a new event id.
     * `source` is a source name or a route. Throws `MemberwireError` for a bad post.
     * `recordsOnly`: only the records (no `workflows`), for a host that runs the events
     * elsewhere (a registration thread, a queue) and would free each workflow at once.
     */
    accept(source: string, headers: Headers, body: Uint8Array | number[], now: number, recordsOnly?: boolean | null): Accepted;
    /**
     * Checks a member's new password against the policy only (no hashing: cheap). Throws
     * `password_rejected` with the reason.
     */
    checkNewPassword(password: string): void;
    /**
     * Checks a member's new password against the policy and returns its hash (salt drawn
     * here). Throws `password_rejected` with the reason.
     */
    hashNewPassword(password: string): string;
    /**
     * Validates the settings; throws `MemberwireError` (`invalid_config`) when they cannot work.
     */
    constructor(config: RegistrarConfig);
    /**
     * Starts a refresh of the member linked to contact `contactId` of the connected CRM (the
     * administrator's "Refresh from CRM"): tags and names from the CRM, then new credentials and
     * the welcome tag as asked. Throws `invalid_contact_id`, or `invalid_config` without a CRM.
     */
    refresh(contactId: string, credentials: boolean, welcome: boolean, now: number): Workflow;
    /**
     * Starts the registration of contact `contactId` of the connected CRM, as a post naming
     * only that contact (and its email, when given) would: for the admin page's "add with a
     * welcome" and the bulk runs, which have the contact in hand and no post to parse. Throws
     * `invalid_contact_id`, `invalid_email`, or `invalid_config` without a CRM.
     */
    register(contactId: string, email: string | null | undefined, now: number): Workflow;
    /**
     * Restores a workflow from `Workflow.save()` (after a restart, or for a retry).
     */
    restore(state: string): Workflow;
    /**
     * Replaces the mapped sources posts to `/hooks/mapped/NAME` are read with (the owner's
     * list, from the settings). Every one is checked first: a bad one throws `invalid_field`
     * naming it and its setting, and the old list stays.
     */
    setSources(sources: MappedSource[]): void;
}

/**
 * One running registration.
 */
export class Workflow {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The result of the effect `poll` returned (for every effect but `random`).
     */
    handle(result: EffectResult, now: number): void;
    /**
     * The next effect to perform, the outcome, or a pending state.
     */
    poll(): Poll;
    /**
     * Answers a `random` effect with bytes from the platform's CSPRNG, drawn here so the
     * secrets made from them never pass through JS.
     */
    provideRandom(bytes: number, now: number): void;
    /**
     * What the event store records of a new workflow, in one call.
     */
    record(): WorkflowRecord;
    /**
     * Un-parks a pending workflow.
     */
    retry(): void;
    /**
     * The state to persist (it holds no secret).
     */
    save(): string;
    /**
     * One step of the driver loop in one call: takes the result of the effect the last step
     * returned (`undefined` on the first call), then runs on inside wasm through every `random`
     * (drawn here) and `log` (collected) until the next effect the host must perform, or the
     * end. The answer carries the state to persist before that effect when it is a CRM write
     * (`Effect::must_persist_before`), and always at the end; the directory writes carry their
     * stored form (`row`, as `memberRow` gives it) so a SQL store needs no second call.
     */
    step(result: EffectResult | undefined, now: number): Step;
    /**
     * `crm:account:contactId`: hosts may use it to run one contact's workflows in order.
     */
    readonly contactKey: string;
    /**
     * The contact as far as known (never its password).
     */
    readonly contact: Contact;
    readonly eventId: string;
}

export function __wbg_reset_state(): void;

/**
 * The digest stored for an access key.
 */
export function accessKeyDigest(key: string): string;

/**
 * Whether `presented` is the key whose digest is `digest`, compared in constant time.
 */
export function accessKeyMatches(presented: string, digest: string): boolean;

/**
 * Checks a list of mapped sources as `Registrar.setSources` would, without a registrar (the
 * admin API validates what it saves). Throws `invalid_field` naming the source and setting.
 */
export function checkSources(sources: MappedSource[]): void;

/**
 * The request that finds contacts by email.
 */
export function crmFindByEmail(config: CrmConfig, email: string): HttpRequest;

/**
 * The request for one page of the CRM's tags or custom fields (`page`: where the previous
 * page said the next starts), or `null` for a source without a CRM API.
 */
export function crmListRequest(config: CrmConfig, what: "tags" | "fields", page?: string | null): HttpRequest | null;

/**
 * The requests that load a contact, in order.
 */
export function crmLoadContact(config: CrmConfig, contact_id: string): HttpRequest[];

/**
 * Reads the responses to `crmLoadContact`'s requests: the contact without its password.
 */
export function crmParseContact(config: CrmConfig, responses: { status: number; body: string }[]): CrmContact | null;

/**
 * The contact ids in a find-by-email response.
 */
export function crmParseFind(config: CrmConfig, response: { status: number; body: string }): string[];

/**
 * Reads one page of the CRM's tags or custom fields: `{items: [{id, name}], next?}`.
 */
export function crmParseList(config: CrmConfig, what: "tags" | "fields", page: string | null | undefined, response: { status: number; body: string }): { items: { id: string; name: string }[]; next?: string };

/**
 * The CRM's documented request rate, per second (0 for a kind without a CRM).
 */
export function crmRateLimit(kind: string): number;

/**
 * A new access key for the hook URLs. Returns the key (show it once) and the digest to store.
 */
export function generateAccessKey(): { key: string; digest: string };

/**
 * The hook routes, by the name after `/hooks/` (`keap`, `keap-rest`, ...): those of CRM
 * `crm` and the generic JSON route, or with no CRM named every route.
 */
export function hookRoutes(crm?: string | null): string[];

/**
 * The levels `tags` grant under `rules`.
 */
export function levelsFor(rules_js: Rule[], tags_js: Tag[]): string[];

/**
 * The stored form of a member for a SQL store (`StoredMember`), or `{ rejected: reason }`
 * when it breaks the directory's limits (the store then answers `rejected`, as the in-memory
 * directory does).
 */
export function memberRow(member: MemberRecord): StoredMember | { rejected: string };

/**
 * A new event id: `ev_` + the time in base 36 + 64 random bits (sortable by arrival).
 */
export function newEventId(now: number): string;

/**
 * Parses one CRM post. `source` is a source name or a route path; `headers` are the request's
 * headers (only `Content-Type` and `X-Hook-Secret` are read). Throws a `MemberwireError`.
 */
export function parsePost(source: SourceName | string, headers: Headers, body: Uint8Array | number[], options?: ParseOptions): Inbound;

/**
 * What replacing a member's tags with the CRM's would change.
 */
export function previewTagSync(current: Tag[], crm_tags: Tag[], rules_js: Rule[]): TagSyncPreview;

/**
 * The source that posts to `path` (`/hooks/keap` → `"keap_post"`), or `undefined`.
 */
export function sourceForRoute(path: string): SourceName | undefined;

/**
 * Runs when the module is instantiated: it only tells the core where its hash keys come from
 * (nothing is drawn here: Workers refuses randomness outside a request).
 */
export function start(): void;

/**
 * The digest under which a set-password token is stored.
 */
export function tokenDigest(token: string): string;

/**
 * Whether `password` matches a stored `$2y$` hash.
 */
export function verifyPassword(password: string, hash: string): boolean;

/**
 * memberwire's version, for `/health` answers and logs.
 */
export function version(): string;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_accessindex_free: (a: number, b: number) => void;
    readonly __wbg_directory_free: (a: number, b: number) => void;
    readonly __wbg_registrar_free: (a: number, b: number) => void;
    readonly __wbg_workflow_free: (a: number, b: number) => void;
    readonly accessKeyDigest: (a: number, b: number) => [number, number];
    readonly accessKeyMatches: (a: number, b: number, c: number, d: number) => number;
    readonly accessindex_impact: (a: number, b: any, c: any) => [number, number, number];
    readonly accessindex_new: (a: any, b: any) => [number, number, number];
    readonly accessindex_size: (a: number) => number;
    readonly checkSources: (a: any) => [number, number];
    readonly crmFindByEmail: (a: any, b: number, c: number) => [number, number, number];
    readonly crmListRequest: (a: any, b: number, c: number, d: number, e: number) => [number, number, number];
    readonly crmLoadContact: (a: any, b: number, c: number) => [number, number, number];
    readonly crmParseContact: (a: any, b: any) => [number, number, number];
    readonly crmParseFind: (a: any, b: any) => [number, number, number];
    readonly crmParseList: (a: any, b: number, c: number, d: number, e: number, f: any) => [number, number, number];
    readonly crmRateLimit: (a: number, b: number) => [number, number, number];
    readonly directory_accessIndexJson: (a: number) => [number, number];
    readonly directory_apply: (a: number, b: any) => [number, number, number];
    readonly directory_bulkLoadUnjournaled: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number, number];
    readonly directory_get: (a: number, b: number, c: number) => [number, number, number];
    readonly directory_loadMembersJson: (a: number, b: number, c: number) => [number, number, number];
    readonly directory_new: () => number;
    readonly directory_planImport: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number, number];
    readonly directory_planImportCounts: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number, number];
    readonly directory_replay: (a: number, b: any) => [number, number];
    readonly directory_search: (a: number, b: number, c: number, d: number, e: number) => [number, number, number];
    readonly directory_size: (a: number) => number;
    readonly directory_snapshot: (a: number) => [number, number, number];
    readonly generateAccessKey: () => [number, number, number];
    readonly hookRoutes: (a: number, b: number) => [number, number];
    readonly levelsFor: (a: any, b: any) => [number, number, number];
    readonly memberRow: (a: any) => [number, number, number];
    readonly newEventId: (a: number) => [number, number, number, number];
    readonly parsePost: (a: number, b: number, c: any, d: number, e: number, f: number) => [number, number, number];
    readonly previewTagSync: (a: any, b: any, c: any) => [number, number, number];
    readonly registrar_accept: (a: number, b: number, c: number, d: any, e: number, f: number, g: number, h: number) => [number, number, number];
    readonly registrar_checkNewPassword: (a: number, b: number, c: number) => [number, number];
    readonly registrar_hashNewPassword: (a: number, b: number, c: number) => [number, number, number, number];
    readonly registrar_new: (a: any) => [number, number, number];
    readonly registrar_refresh: (a: number, b: number, c: number, d: number, e: number, f: number) => [number, number, number];
    readonly registrar_register: (a: number, b: number, c: number, d: number, e: number, f: number) => [number, number, number];
    readonly registrar_restore: (a: number, b: number, c: number) => [number, number, number];
    readonly registrar_setSources: (a: number, b: any) => [number, number];
    readonly sourceForRoute: (a: number, b: number) => [number, number];
    readonly start: () => void;
    readonly tokenDigest: (a: number, b: number) => [number, number];
    readonly verifyPassword: (a: number, b: number, c: number, d: number) => number;
    readonly version: () => [number, number];
    readonly workflow_contact: (a: number) => [number, number, number];
    readonly workflow_contactKey: (a: number) => [number, number];
    readonly workflow_eventId: (a: number) => [number, number];
    readonly workflow_handle: (a: number, b: any, c: number) => [number, number];
    readonly workflow_poll: (a: number) => [number, number, number];
    readonly workflow_provideRandom: (a: number, b: number, c: number) => [number, number];
    readonly workflow_record: (a: number) => [number, number, number];
    readonly workflow_retry: (a: number) => void;
    readonly workflow_save: (a: number) => [number, number];
    readonly workflow_step: (a: number, b: any, c: number) => [number, number, number];
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __externref_drop_slice: (a: number, b: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
