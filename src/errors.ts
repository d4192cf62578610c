import { HTTPException } from 'hono/http-exception';
import { consoleLogger, errorFields, type Logger } from './log.js';

/** RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707 §2, RFC 7009 §2.2.1 error codes. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'not_found';

/** `Retry-After` of a 503 that names no delay of its own. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

const defaultStatus: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  not_found: 404,
  temporarily_unavailable: 503,
  server_error: 500,
};

/**
 * RFC 6749 §5.2: `error_description` may contain only %x20-21 / %x23-5B / %x5D-7E (printable
 * ASCII without the double quote and the backslash). Every description is brought into that set
 * where it is made, whatever text (or caller input) went into it: quotes become apostrophes,
 * the section sign becomes "section", anything else outside the set becomes "?".
 */
export function toDescriptionCharset(text: string): string {
  return text
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/§ ?/g, 'section ')
    .replace(/[^\x20-\x7E]/g, '?');
}

export interface OAuthErrorInit {
  status?: number;
  headers?: Record<string, string>;
  /**
   * `false`: the error must not be sent to the client's redirect URI, because the client or the
   * redirect URI is not (yet) trusted; the user is shown a page instead (OAuth 2.1 §4.1.2.1).
   */
  redirect?: false;
  /**
   * `false`: the response carries the status and headers only. RFC 6750 §3.1: the challenge to a
   * request without credentials names no error code (the error's `code` is then for the host only).
   */
  body?: false;
  cause?: unknown;
}

/**
 * The one error type of the project. Its `description` is always safe to show to the
 * OAuth client; anything that is not an OAuthError is rendered as `server_error` and its
 * details go to the log only. It is Hono's `HTTPException`: a host's `app.onError` sees it,
 * and `getResponse()` is the RFC-shaped answer.
 */
export class OAuthError extends HTTPException {
  readonly headers: Record<string, string>;
  readonly description?: string;
  /** False when the error must never reach the client's redirect URI (OAuth 2.1 §4.1.2.1). */
  readonly redirectable: boolean;
  readonly #withBody: boolean;

  constructor(
    readonly code: OAuthErrorCode,
    description?: string,
    init: OAuthErrorInit = {},
  ) {
    const safe = description === undefined ? undefined : toDescriptionCharset(description);
    super((init.status ?? defaultStatus[code] ?? 400) as HTTPException['status'], { message: safe ? `${code}: ${safe}` : code, cause: init.cause });
    this.description = safe;
    this.name = 'OAuthError';
    this.redirectable = init.redirect !== false;
    this.#withBody = init.body !== false;
    this.headers = init.headers ?? {};
    // RFC 9110 §15.6.4 / §10.2.3: every 503 tells the client when to retry.
    if (this.status === 503 && !Object.keys(this.headers).some((name) => name.toLowerCase() === 'retry-after')) {
      this.headers = { ...this.headers, 'Retry-After': String(DEFAULT_RETRY_AFTER_SECONDS) };
    }
  }

  /** RFC 6749 §5.2 JSON body; `Cache-Control: no-store` on every error. */
  toResponse(): Response {
    const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }; // RFC 6749 §5.2: never cached, whatever else is set
    if (!this.#withBody) return new Response(null, { status: this.status, headers: { ...this.headers, ...noStore } });
    const body: Record<string, string> = { error: this.code };
    if (this.description) body.error_description = this.description;
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { 'Content-Type': 'application/json', ...this.headers, ...noStore },
    });
  }

  /** Hono's `HTTPException` contract: what a host's `onError` (or Hono's default) answers. */
  override getResponse(): Response {
    return this.toResponse();
  }
}

/**
 * Turns any thrown value into the RFC 6749 §5.2 response; unknown errors never leak details,
 * and are written to `logger` (the instance's `logger` option).
 */
export function errorResponse(err: unknown, logger: Logger = consoleLogger): Response {
  if (err instanceof OAuthError) return err.toResponse();
  logger.error('unexpected error', errorFields(err));
  return new OAuthError('server_error', 'The server encountered an unexpected condition.').toResponse();
}
