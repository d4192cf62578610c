import type { AppContext } from '../http/context.js';
import type { Services } from '../services.js';
import type { AuthorizationRequest } from '../protocol/authorization-request.js';
import type { Principal } from '../principal/types.js';
import type { GrantRecord } from '../grants/grant-record.js';
import type { AccessTokenView } from '../tokens/access-token-view.js';
import type { TokenLookup } from '../tokens/lookup.js';
import type { AuditEvent } from '../events.js';
import type { VerifyOptions } from '../verify/index.js';

/** What a grant produced, whoever signed it. */
export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  scopes: string[];
  jti: string;
  exp: number;
  refreshToken?: string;
  /** The authority's own name of the grant (Grantex `grnt`), for audit events. */
  upstreamGrantId?: string;
}

/** A code redemption that storage accepted (OAuth 2.1 §4.1.3): the grant, its scopes and the code. */
export interface RedeemedCode {
  grant: GrantRecord;
  scopes: string[];
  /** The code as presented (the authority's own state may be sealed with it). */
  code: string;
  /** The refresh token to issue, when the client may have one. */
  refreshToken?: string;
  now: number;
}

/** A refresh rotation that storage accepted (OAuth 2.1 §4.3.1). */
export interface RotatedRefresh {
  grant: GrantRecord;
  scopes: string[];
  /** The refresh token as presented, and its successor. */
  presented: string;
  rotated: string;
  /** The authority's own refresh state for this token, sealed with `presented` (Grantex). */
  upstreamSealed?: string | null;
  now: number;
}

/** A GET route of the authority for the browser (e.g. the Grantex callback). */
export interface AuthorityBrowserRoute {
  /** Under the issuer's base path, e.g. `/grantex/callback`. */
  path: string;
  /** `pageError` answers the browser with this server's error page. */
  handle(c: AppContext, pageError: (message: string) => Response | Promise<Response>): Promise<Response>;
}

/** protect(): how one resource verifies this authority's tokens. */
export interface ResourceTokenCheck {
  /**
   * The verifier options for these bindings, and what a verifier is kept under: a verified token
   * is only remembered under the keys that verified it, so a new signing key set starts afresh.
   */
  verifierFor(services: Services): Promise<{ scope: object; options: () => VerifyOptions }>;
}

/**
 * Where grants and tokens come from. `createMcpAuth` picks one (src/authority/index.ts): `local`
 * (this server signs) or `grantex` (src/authority/grantex). Routes only call it; none asks which.
 */
export interface GrantAuthority {
  /** The authority asks the user on its own consent page: once the user is known, ours is skipped. */
  readonly ownConsentPage: boolean;
  /** Origins the browser may be sent to after our consent form (its CSP `form-action`). */
  readonly consentOrigins: readonly string[];
  /** Its browser routes, served under the issuer with the `authorize-continue` rate limit. */
  readonly routes: readonly AuthorityBrowserRoute[];
  /** Why the operator cannot rotate a signing key here (the authority signs elsewhere); undefined: it can. */
  readonly signingKeyRotationRefusal?: string;
  /** Forwards audit events to the authority (Grantex's audit log), when configured. */
  readonly forwardAuditEvent?: (event: AuditEvent) => Promise<void>;

  /** The user approved `request` (or the authority asks itself): answer the browser. */
  startAuthorization(c: AppContext, request: AuthorizationRequest, principal: Principal): Promise<Response>;
  /** Tokens for a redeemed code. */
  tokensForCode(services: Services, redeemed: RedeemedCode): Promise<IssuedTokens>;
  /** Tokens for a rotated refresh token. */
  tokensForRefresh(services: Services, rotated: RotatedRefresh): Promise<IssuedTokens>;
  /** An access token of this server read back (introspection, revocation); undefined otherwise. */
  readAccessToken(services: Services, token: string): Promise<AccessTokenView | undefined>;
  /** RFC 7009 §2.1: revokes a token of ours; the grant when something was revoked. */
  revoke(services: Services, found: NonNullable<TokenLookup>): Promise<GrantRecord | undefined>;
  /** A replayed code or refresh token ended `grant` (RFC 9700 §4.5.3, §4.14.2): end what the authority holds for it. */
  replayed(services: Services, grant: GrantRecord, what: 'authorization_code' | 'refresh_token'): Promise<void>;
  /**
   * The operator ended these grants: end what the authority holds for them. The ids it could not
   * end (logged), or undefined when it holds nothing of its own.
   */
  grantsEnded(services: Services, grants: readonly GrantRecord[], reason: string): Promise<string[] | undefined>;
  /** RFC 7662 §2.2 members the authority adds to a refresh token's introspection answer. */
  refreshTokenFields(grant: GrantRecord): Record<string, string>;
  /** How protect() verifies this authority's tokens for `resource`. */
  resourceTokenCheck(resource: string): ResourceTokenCheck;
}
