/* tslint:disable */
/* eslint-disable */

/** A stable machine-readable error code (see the README's error table). */
export type ErrorCode =
| "malformed_body" | "unsupported_content_type" | "body_too_large" | "missing_contact_id"
| "invalid_contact_id" | "invalid_email" | "field_too_large" | "invalid_field"
| "too_many_objects" | "unknown_source";

/** Errors thrown by memberwire functions are `Error`s with these two extra properties. */
export interface MemberwireError extends Error {
    code: ErrorCode;
    /** The HTTP status a host answers with. */
    status: number;
}

export type SourceName = "keap_post" | "keap_rest" | "activecampaign" | "json";
export type CrmKind = "keap" | "activecampaign" | "generic";

export interface ParseOptions {
    /** Which account of the CRM posts come from. Default "default". */
    account?: string;
    /** The field that carries the member's password, if the site uses one. */
    passwordField?: string | null;
    /** Bodies over this many bytes are refused with body_too_large. Default 1 MiB. */
    maxBodyBytes?: number;
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
}

export interface InboundEvent {
    source: SourceName;
    eventType: string;
    contact: Contact;
}

export type Inbound =
| { kind: "events"; events: InboundEvent[] }
/** Keap REST hook verification: answer 200 echoing the X-Hook-Secret header. */
| { kind: "hook_verification" }
| { kind: "ignored"; reason: string };



/**
 * Parses one CRM post. `source` is a source name or a route path; `headers` are the request's
 * headers (only `Content-Type` and `X-Hook-Secret` are read). Throws a `MemberwireError`.
 */
export function parsePost(source: SourceName | string, headers: Headers, body: Uint8Array | number[], options?: ParseOptions): Inbound;

/**
 * The source that posts to `path` (`/hooks/keap` → `"keap_post"`), or `undefined`.
 */
export function sourceForRoute(path: string): SourceName | undefined;

/**
 * memberwire's version, for `/health` answers and logs.
 */
export function version(): string;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly parsePost: (a: number, b: number, c: any, d: number, e: number, f: number) => [number, number, number];
    readonly sourceForRoute: (a: number, b: number) => [number, number];
    readonly version: () => [number, number];
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __externref_table_dealloc: (a: number) => void;
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
