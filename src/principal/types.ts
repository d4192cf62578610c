/** The user who consents. `id` becomes the token's `sub`. */
export interface Principal {
  id: string;
  /** Shown on the consent page. */
  displayName?: string;
}

export interface PrincipalRequest {
  request: Request;
  env: unknown;
  /** The consent form's fields on the approval POST; undefined on the GET that renders the page. */
  form?: URLSearchParams;
  /**
   * Where a login flow started by a `SignInRedirect` must send the browser back (this server's
   * `/authorize/resume`); there `resume` is asked who signed in.
   */
  resumeUrl: string;
}

/**
 * "Send the browser to this login page; resume the pending authorization when it comes back to
 * `resumeUrl`." The pending authorization is kept MAC-protected in a cookie of this browser,
 * single-use and short-lived (src/principal/pending-sign-in.ts).
 */
export interface SignInRedirect {
  /** The login page (an absolute http or https URL). */
  readonly signInAt: string;
  /**
   * The resolver's own data for the way back (an OIDC `state`, nonce, PKCE verifier, …), at most
   * 1024 characters. It is kept with the pending authorization, MAC-protected but readable by the
   * browser that holds it, and handed to `resume`.
   */
  readonly state?: string;
}

/** What a resolver answers: the user, nobody (`access_denied`), or a login page to go through first. */
export type PrincipalAnswer = Principal | SignInRedirect | undefined;

/** A `SignInRedirect` answer, told apart from a principal by its `signInAt`. */
export function isSignInRedirect(answer: PrincipalAnswer): answer is SignInRedirect {
  return answer !== undefined && typeof (answer as Partial<SignInRedirect>).signInAt === 'string';
}

/**
 * Who is the user. `resolve` answers the user, nobody (undefined), or a `SignInRedirect`. On
 * nobody, an interactive resolver (`signInField`) asks for a name on the consent page; any other
 * answers `access_denied`. A resolver that redirects implements `resume`.
 */
export interface PrincipalResolver {
  readonly kind: string;
  /** The consent page shows a name field (development sign-in only). */
  readonly signInField?: boolean;
  /** Allowed on a public https issuer (false only for an unforced development sign-in). */
  readonly allowedOnPublicIssuer: boolean;
  /**
   * Why this resolver must not run for a request, as a message for the operator (what to
   * configure); undefined when it may. Asked before the consent page is shown or decided.
   */
  refusal?(input: { requestUrl: URL; issuerUrl: URL }): string | undefined;
  resolve(input: PrincipalRequest): Promise<PrincipalAnswer>;
  /**
   * The login flow came back to `resumeUrl` with this request: who signed in, or nobody
   * (`access_denied`). `state` is what the `SignInRedirect` carried. Asked once per pending
   * authorization, after its cookie, MAC, expiry and single use have been checked.
   */
  resume?(input: { request: Request; env: unknown; state?: string }): Promise<Principal | undefined>;
}
