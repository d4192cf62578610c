/**
 * A typed Grantex REST client over `fetch` (Web-platform APIs only: `fetch`, `AbortSignal.timeout`,
 * `crypto`). It follows the Grantex REST contract (`docs/architecture.md`) and has the method shapes of `@grantex/sdk`, so a caller may pass an SDK
 * instance wherever a `GrantexApi` is expected.
 *
 * Transport rules (contract "Transport"):
 * - every call sends `Authorization: Bearer <apiKey>`, `Accept: application/json`, JSON bodies;
 * - 429 and 503 (the service did not do the work) are retried with exponential backoff and full
 *   jitter, honouring `Retry-After` (seconds or HTTP-date). Network errors, timeouts, 502 and 504
 *   leave the outcome unknown: they are retried only for reads and revocations, which are safe to
 *   repeat. A code exchange, a refresh or a new authorization is not retried then — Grantex ignores
 *   `Idempotency-Key` and codes and refresh tokens are single-use, so the caller settles the outcome
 *   (`GrantexError.outcomeUnknown`, src/authority/grantex/tokens.ts). Other statuses are not retried;
 * - each attempt has its own timeout;
 * - redirects are never followed (`redirect: 'manual'`, any 3xx is an error): the API key must not
 *   travel to a host the caller did not configure (SSRF hygiene);
 * - responses are bounded in size and their shapes are checked before use.
 *
 * Errors are `GrantexError`. Its `message` is built only from the operation, the HTTP status and the
 * error code: never from the API key, never from the upstream text (kept in `upstreamMessage`, with
 * the key redacted, for logs only — never show it to OAuth clients).
 */

import { isJsonObject } from '../../protocol/json-object.js';
import { isLoopbackHost } from '../../protocol/redirect-uri.js';

export interface GrantexClientOptions {
  /** e.g. `https://api.grantex.dev`; https, or http on localhost / 127.0.0.1 / [::1] only. A path prefix is kept. */
  baseUrl: string;
  /** 16–512 visible ASCII characters (contract "Transport"). */
  apiKey: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Per-attempt timeout, including reading the body. Default 10000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3 (0–10). */
  maxRetries?: number;
  /** Base of the exponential backoff (full jitter). Default 200. */
  retryBaseDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the call fails at once (retryable). Default 30000. */
  maxRetryAfterMs?: number;
  /** For tests. Default: `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
}

/** Codes produced by the client itself; any other value is the upstream envelope's `code` (or `HTTP_<status>`). */
export type GrantexClientErrorCode = 'NETWORK_ERROR' | 'TIMEOUT' | 'UNEXPECTED_REDIRECT' | 'BAD_RESPONSE';

export type GrantexOperation =
  'authorize' | 'tokens.exchange' | 'tokens.refresh' | 'tokens.revoke' | 'grants.verify' | 'grants.get' | 'grants.list' | 'grants.revoke' | 'audit.log';

/**
 * Calls that may be repeated when their outcome is unknown: reads, and revocations (a second
 * revocation of the same grant or token changes nothing; Grantex answers it 404).
 */
const REPEATABLE: ReadonlySet<GrantexOperation> = new Set(['grants.verify', 'grants.get', 'grants.list', 'grants.revoke', 'tokens.revoke']);

export interface GrantexErrorInit {
  status: number;
  code: string;
  operation: GrantexOperation;
  retryable: boolean;
  requestId?: string;
  upstreamMessage?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A failed Grantex call. `status` is the HTTP status (0 when no response arrived). `message` is safe to
 * log; neither it nor `upstreamMessage` is ever shown to an OAuth client.
 */
export class GrantexError extends Error {
  readonly status: number;
  readonly code: string;
  readonly operation: GrantexOperation;
  readonly requestId?: string;
  /** True for network errors, timeouts, 429, 502, 503, 504 (also when retries are exhausted). */
  readonly retryable: boolean;
  /**
   * No answer, or a gateway's 502/504: the service may or may not have done the work. 429 and 503
   * are answers of the service itself that it did not.
   */
  get outcomeUnknown(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 504;
  }
  /** The upstream envelope's `message` (API key redacted, truncated). For logs only. */
  readonly upstreamMessage?: string;
  /** The server's `Retry-After`, when it sent one. */
  readonly retryAfterMs?: number;

  constructor(init: GrantexErrorInit) {
    const what = init.status > 0 ? `HTTP ${init.status} (${init.code})` : init.code === 'TIMEOUT' ? 'timed out' : init.code;
    super(`Grantex ${init.operation} failed: ${what}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GrantexError';
    this.status = init.status;
    this.code = init.code;
    this.operation = init.operation;
    this.retryable = init.retryable;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.upstreamMessage !== undefined) this.upstreamMessage = init.upstreamMessage;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

export interface GrantexAuthorizeParams {
  agentId: string;
  principalId: string;
  scopes: string[];
  /** The MCP resource; becomes the grant token's `aud`. */
  audience?: string;
  /** Grant lifetime, e.g. "1h", "24h". */
  expiresIn?: string;
  redirectUri?: string;
  /** RFC 7636 S256 challenge (43 characters). */
  codeChallenge?: string;
  codeChallengeMethod?: 'S256';
  /** At most 1024 characters. */
  state?: string;
}

export interface GrantexAuthorizeResponse {
  authRequestId: string;
  consentUrl: string;
  expiresAt: string;
  /** Sandbox: the request is approved at once and `code` is returned. */
  sandbox?: boolean;
  code?: string;
  /** A policy auto-allowed the request; `code` is returned. */
  policyEnforced?: boolean;
  effect?: string;
}

export interface GrantexTokenResponse {
  grantToken: string;
  expiresAt: string;
  scopes: string[];
  refreshToken: string;
  grantId: string;
}

/** A grant as `GET /v1/grants/{id}` and `GET /v1/grants` describe it (contract "grants"). */
export interface GrantexGrant {
  grantId: string;
  agentId: string;
  principalId: string;
  scopes: string[];
  status: string;
  /** ISO date. */
  issuedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** `reason` is Grantex's (`revoked`, …), or `invalid` when Grantex answered 400 "Invalid token". */
export type GrantexVerifyResult = { active: true; claims: Record<string, unknown> } | { active: false; reason?: string };

export interface GrantexAuditEntry {
  agentId: string;
  agentDid: string;
  grantId: string;
  principalId: string;
  action: string;
  metadata?: Record<string, unknown>;
  status?: string;
}

/** The method shapes of `@grantex/sdk`: an SDK instance satisfies this interface too. */
export interface GrantexApi {
  authorize(params: GrantexAuthorizeParams): Promise<GrantexAuthorizeResponse>;
  tokens: {
    /** `redirectUri` is optional: newer Grantex services require it when the authorize request had one. */
    exchange(p: { code: string; agentId: string; codeVerifier?: string; redirectUri?: string }): Promise<GrantexTokenResponse>;
    refresh(p: { refreshToken: string; agentId: string }): Promise<GrantexTokenResponse>;
    revoke(jti: string): Promise<void>;
  };
  grants: {
    verify(token: string): Promise<GrantexVerifyResult>;
    get(grantId: string): Promise<GrantexGrant>;
    /** The developer's grants, newest first. */
    list(params: { agentId?: string; principalId?: string; status?: 'active' | 'revoked' }): Promise<{ grants: GrantexGrant[] }>;
    revoke(grantId: string): Promise<void>;
  };
  audit: {
    log(entry: GrantexAuditEntry): Promise<unknown>;
  };
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_RETRY_BASE_DELAY_MS = 200;
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
const MAX_BACKOFF_MS = 10_000;
/** Grantex responses are small JSON documents; anything larger is refused. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_UPSTREAM_MESSAGE_CHARS = 500;
/** Contract "Transport": retry network errors, 429, 502, 503, 504. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * A Grantex REST client (the transport rules above). `grantex({ baseUrl, apiKey })` builds one;
 * build it yourself to tune timeouts and retries, and pass it as `grantex({ client })`.
 *
 * @example
 * ```ts
 * import { env } from 'cloudflare:workers';
 * import { createGrantexClient, grantex } from 'mcp-auth-edge';
 *
 * const client = createGrantexClient({ baseUrl: 'https://api.grantex.dev', apiKey: env.GRANTEX_API_KEY, timeoutMs: 5000, maxRetries: 2 });
 * const authority = grantex({
 *   client,
 *   jwksUri: 'https://api.grantex.dev/.well-known/jwks.json',
 *   consentOrigins: ['https://grantex.dev'],
 *   agentId: 'ag_…',
 *   developerId: 'dev_…',
 * });
 * ```
 */
export function createGrantexClient(options: GrantexClientOptions): GrantexApi {
  const config = resolveOptions(options);
  const send = createTransport(config);

  return {
    async authorize(params) {
      return parseAuthorizeResponse(await send('authorize', 'POST', '/v1/authorize', params));
    },
    tokens: {
      async exchange(p) {
        return parseTokenResponse('tokens.exchange', await send('tokens.exchange', 'POST', '/v1/token', p));
      },
      async refresh(p) {
        return parseTokenResponse('tokens.refresh', await send('tokens.refresh', 'POST', '/v1/token/refresh', p));
      },
      async revoke(jti) {
        requireId('tokens.revoke', 'jti', jti);
        await send('tokens.revoke', 'POST', '/v1/tokens/revoke', { jti });
      },
    },
    grants: {
      async verify(token) {
        if (typeof token !== 'string' || token.length === 0) {
          throw new TypeError('grants.verify: token must be a non-empty string');
        }
        let reply: Reply;
        try {
          reply = await send('grants.verify', 'POST', '/v1/grants/verify', { token });
        } catch (err) {
          // The reference service answers 400 "Invalid token" for a bad signature or an expired
          // token: that token is inactive (RFC 7662 §2.2), not a failure of the service.
          if (err instanceof GrantexError && err.status === 400) return { active: false, reason: 'invalid' };
          throw err;
        }
        return parseVerifyResponse(reply);
      },
      async get(grantId) {
        requireId('grants.get', 'grantId', grantId);
        return parseGrant('grants.get', await send('grants.get', 'GET', `/v1/grants/${encodeURIComponent(grantId)}`));
      },
      async list(params) {
        const query = new URLSearchParams();
        for (const [name, value] of Object.entries(params)) if (typeof value === 'string') query.set(name, value);
        const search = query.toString();
        const reply = await send('grants.list', 'GET', `/v1/grants${search ? `?${search}` : ''}`);
        const grants = expectObject('grants.list', reply).grants;
        if (!Array.isArray(grants)) throw badResponse('grants.list', reply.status, reply.requestId);
        return { grants: grants.map((grant: unknown) => parseGrant('grants.list', { ...reply, body: grant })) };
      },
      async revoke(grantId) {
        requireId('grants.revoke', 'grantId', grantId);
        await send('grants.revoke', 'DELETE', `/v1/grants/${encodeURIComponent(grantId)}`);
      },
    },
    audit: {
      async log(entry) {
        return expectObject('audit.log', await send('audit.log', 'POST', '/v1/audit/log', entry));
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Options

interface ResolvedConfig {
  origin: string;
  pathPrefix: string;
  apiKey: string;
  fetch: typeof fetch;
  timeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
}

function resolveOptions(options: GrantexClientOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createGrantexClient: options must be an object');
  }
  const { apiKey } = options;
  // The key itself never appears in a message.
  if (typeof apiKey !== 'string' || apiKey.length < 16 || apiKey.length > 512) {
    throw new TypeError('createGrantexClient: apiKey must be a string of 16 to 512 characters');
  }
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new TypeError('createGrantexClient: apiKey must contain only visible ASCII characters');
  }

  const base = parseBaseUrl(options.baseUrl);

  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new TypeError('createGrantexClient: fetch must be a function');
  }
  if (options.sleep !== undefined && typeof options.sleep !== 'function') {
    throw new TypeError('createGrantexClient: sleep must be a function');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('createGrantexClient: timeoutMs must be a positive number');
  }
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
    throw new TypeError('createGrantexClient: maxRetries must be an integer from 0 to 10');
  }
  const retryBaseDelayMs = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
  if (!Number.isFinite(retryBaseDelayMs) || retryBaseDelayMs < 0) {
    throw new TypeError('createGrantexClient: retryBaseDelayMs must be a non-negative number');
  }
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  if (!Number.isFinite(maxRetryAfterMs) || maxRetryAfterMs < 0) {
    throw new TypeError('createGrantexClient: maxRetryAfterMs must be a non-negative number');
  }

  // Called as a plain function, never as a method: Workers' fetch throws "Illegal invocation" otherwise.
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  return {
    origin: base.origin,
    pathPrefix: base.pathname.replace(/\/+$/, ''),
    apiKey,
    fetch: fetchImpl,
    timeoutMs,
    maxRetries,
    retryBaseDelayMs,
    maxRetryAfterMs,
    sleep: options.sleep ?? defaultSleep,
  };
}

function parseBaseUrl(baseUrl: unknown): URL {
  if (typeof baseUrl !== 'string' || !URL.canParse(baseUrl)) {
    throw new TypeError('createGrantexClient: baseUrl must be an absolute URL');
  }
  const url = new URL(baseUrl);
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('createGrantexClient: baseUrl must use https (http is allowed only for localhost, 127.0.0.1 and [::1])');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('createGrantexClient: baseUrl must not contain credentials');
  }
  if (url.search !== '' || url.hash !== '' || baseUrl.includes('?') || baseUrl.includes('#')) {
    throw new TypeError('createGrantexClient: baseUrl must not contain a query or a fragment');
  }
  return url;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function requireId(operation: GrantexOperation, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new TypeError(`${operation}: ${name} must be a non-empty string`);
  }
}

// ---------------------------------------------------------------------------------------------
// Transport: one attempt, retries, errors

type Send = (operation: GrantexOperation, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<Reply>;

/** A successful response: its status and parsed JSON body (undefined when empty). */
interface Reply {
  status: number;
  body: unknown;
  requestId?: string;
}

function createTransport(config: ResolvedConfig): Send {
  const redact = (text: string): string => text.split(config.apiKey).join('[REDACTED]');

  return async function send(operation, method, path, body) {
    const url = `${config.origin}${config.pathPrefix}${path}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${config.apiKey}`,
      Accept: 'application/json',
    };
    let payload: string | undefined;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }

    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < config.maxRetries;
      const outcome = await attemptOnce(config, operation, url, method, headers, payload, redact);
      if (outcome.ok) return outcome.reply;

      const error = outcome.error;
      if (!error.retryable || !canRetry) throw error;
      if (error.outcomeUnknown && !REPEATABLE.has(operation)) throw error;
      let delay: number;
      if (error.retryAfterMs !== undefined) {
        // A server asking for a longer pause than we are willing to hold a user request for: give up now.
        if (error.retryAfterMs > config.maxRetryAfterMs) throw error;
        delay = error.retryAfterMs;
      } else {
        delay = backoffDelay(config.retryBaseDelayMs, attempt);
      }
      await config.sleep(delay);
    }
  };
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^attempt)). */
function backoffDelay(baseMs: number, attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt);
  return Math.floor(Math.random() * ceiling);
}

type AttemptOutcome = { ok: true; reply: Reply } | { ok: false; error: GrantexError };

async function attemptOnce(
  config: ResolvedConfig,
  operation: GrantexOperation,
  url: string,
  method: string,
  headers: Record<string, string>,
  payload: string | undefined,
  redact: (text: string) => string,
): Promise<AttemptOutcome> {
  const signal = AbortSignal.timeout(config.timeoutMs);
  const transportError = (cause: unknown): AttemptOutcome => ({
    ok: false,
    error: new GrantexError({
      status: 0,
      code: signal.aborted ? 'TIMEOUT' : 'NETWORK_ERROR',
      operation,
      retryable: true,
      cause: signal.aborted ? undefined : sanitizeCause(cause, redact),
    }),
  });

  let response: Response;
  try {
    const init: RequestInit = { method, headers, redirect: 'manual', signal };
    if (payload !== undefined) init.body = payload;
    // Raced against the signal as well, so a fetch implementation that ignores `signal` still times out.
    response = await raceAbort(config.fetch(url, init), signal);
  } catch (cause) {
    return transportError(cause);
  }

  // `redirect: 'manual'` yields the 3xx itself (or an opaque redirect with status 0 in browsers).
  if ((response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect') {
    await discardBody(response);
    return {
      ok: false,
      error: new GrantexError({
        status: response.status,
        code: 'UNEXPECTED_REDIRECT',
        operation,
        retryable: false,
        requestId: headerRequestId(response),
      }),
    };
  }

  let text: string;
  try {
    text = await raceAbort(readBoundedText(response, MAX_RESPONSE_BYTES), signal);
  } catch (cause) {
    if (cause instanceof ResponseTooLarge) {
      return { ok: false, error: badResponse(operation, response.status, headerRequestId(response)) };
    }
    return transportError(cause);
  }

  if (response.ok) {
    const requestId = headerRequestId(response);
    const reply = (body: unknown): AttemptOutcome => ({
      ok: true,
      reply: { status: response.status, body, ...(requestId !== undefined ? { requestId } : {}) },
    });
    if (response.status === 204 || text.trim() === '') return reply(undefined);
    try {
      return reply(JSON.parse(text) as unknown);
    } catch {
      return { ok: false, error: badResponse(operation, response.status, requestId) };
    }
  }

  return { ok: false, error: errorFromResponse(operation, response, text, redact) };
}

/** Contract "Transport": the error envelope is `{ message, code, requestId }`; anything else is tolerated. */
function errorFromResponse(operation: GrantexOperation, response: Response, text: string, redact: (text: string) => string): GrantexError {
  let envelope: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isJsonObject(parsed)) envelope = parsed;
  } catch {
    // Not JSON (e.g. an HTML page from a proxy): status-only error.
  }
  const code = typeof envelope.code === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(envelope.code) ? envelope.code : `HTTP_${response.status}`;
  const requestId = typeof envelope.requestId === 'string' && envelope.requestId.length <= 200 ? redact(envelope.requestId) : headerRequestId(response);
  const upstreamMessage = typeof envelope.message === 'string' ? redact(envelope.message).slice(0, MAX_UPSTREAM_MESSAGE_CHARS) : undefined;
  const retryable = RETRYABLE_STATUSES.has(response.status);
  const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('Retry-After'), Date.now()) : undefined;

  return new GrantexError({
    status: response.status,
    code: code === redact(code) ? code : `HTTP_${response.status}`,
    operation,
    retryable,
    ...(requestId !== undefined ? { requestId } : {}),
    ...(upstreamMessage !== undefined ? { upstreamMessage } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date. Returns milliseconds, or undefined. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // IMF-fixdate, RFC 850 and asctime dates all start with a day name.
  if (!/^[A-Za-z]{3,9},? /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function headerRequestId(response: Response): string | undefined {
  const value = response.headers.get('X-Request-Id');
  return value !== null && value.length <= 200 ? value : undefined;
}

function badResponse(operation: GrantexOperation, status: number, requestId?: string): GrantexError {
  return new GrantexError({
    status,
    code: 'BAD_RESPONSE',
    operation,
    retryable: false,
    ...(requestId !== undefined ? { requestId } : {}),
  });
}

/** Keeps the cause for logs, but never lets the API key ride along in it. */
function sanitizeCause(cause: unknown, redact: (text: string) => string): unknown {
  if (cause instanceof Error) {
    const message = redact(cause.message);
    if (message === cause.message) return cause;
    const copy = new Error(message);
    copy.name = cause.name;
    return copy;
  }
  return typeof cause === 'string' ? redact(cause) : undefined;
}

class ResponseTooLarge extends Error {}

async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let total = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge('response too large');
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do
  }
}

/** Why the signal aborted: `AbortSignal.timeout` gives a `TimeoutError` DOMException. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Response shapes (minimal: required fields present and typed)

function expectObject(operation: GrantexOperation, reply: Reply): Record<string, unknown> {
  if (!isJsonObject(reply.body)) throw badResponse(operation, reply.status, reply.requestId);
  return reply.body;
}

/** Reads one field of a response; a missing or mistyped required field is BAD_RESPONSE. */
function fieldReader(operation: GrantexOperation, reply: Reply) {
  const body = expectObject(operation, reply);
  const fail = (): never => {
    throw badResponse(operation, reply.status, reply.requestId);
  };
  return {
    body,
    fail,
    string(key: string): string {
      const value = body[key];
      return typeof value === 'string' && value.length > 0 ? value : fail();
    },
    optional<K extends 'string' | 'boolean'>(key: string, type: K): (K extends 'string' ? string : boolean) | undefined {
      const value = body[key];
      if (value === undefined || value === null) return undefined;
      return typeof value === type ? (value as K extends 'string' ? string : boolean) : fail();
    },
  };
}

function parseAuthorizeResponse(reply: Reply): GrantexAuthorizeResponse {
  const read = fieldReader('authorize', reply);
  const result: GrantexAuthorizeResponse = {
    authRequestId: read.string('authRequestId'),
    consentUrl: read.string('consentUrl'),
    expiresAt: read.string('expiresAt'),
  };
  const sandbox = read.optional('sandbox', 'boolean');
  const code = read.optional('code', 'string');
  const policyEnforced = read.optional('policyEnforced', 'boolean');
  const effect = read.optional('effect', 'string');
  if (sandbox !== undefined) result.sandbox = sandbox;
  if (code !== undefined) result.code = code;
  if (policyEnforced !== undefined) result.policyEnforced = policyEnforced;
  if (effect !== undefined) result.effect = effect;
  return result;
}

function parseTokenResponse(operation: GrantexOperation, reply: Reply): GrantexTokenResponse {
  const read = fieldReader(operation, reply);
  const scopes = read.body.scopes;
  if (!Array.isArray(scopes) || !scopes.every((s): s is string => typeof s === 'string')) read.fail();
  return {
    grantToken: read.string('grantToken'),
    expiresAt: read.string('expiresAt'),
    scopes: [...(scopes as string[])],
    refreshToken: read.string('refreshToken'),
    grantId: read.string('grantId'),
  };
}

function parseGrant(operation: GrantexOperation, reply: Reply): GrantexGrant {
  const read = fieldReader(operation, reply);
  const scopes = read.body.scopes;
  if (!Array.isArray(scopes) || !scopes.every((s): s is string => typeof s === 'string')) read.fail();
  const grant: GrantexGrant = {
    grantId: read.string('grantId'),
    agentId: read.string('agentId'),
    principalId: read.string('principalId'),
    scopes: [...(scopes as string[])],
    status: read.string('status'),
    issuedAt: read.string('issuedAt'),
    expiresAt: read.string('expiresAt'),
  };
  const revokedAt = read.optional('revokedAt', 'string');
  if (revokedAt !== undefined) grant.revokedAt = revokedAt;
  return grant;
}

function parseVerifyResponse(reply: Reply): GrantexVerifyResult {
  const read = fieldReader('grants.verify', reply);
  if (read.body.active === true) {
    const claims = read.body.claims;
    return isJsonObject(claims) ? { active: true, claims } : read.fail();
  }
  if (read.body.active === false) {
    const reason = read.optional('reason', 'string');
    return reason === undefined ? { active: false } : { active: false, reason };
  }
  return read.fail();
}
