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
}

/**
 * Who is the user. `resolve` returns undefined when it cannot tell: an interactive resolver
 * (`signInField`) then asks for a name on the consent page; any other answers `access_denied`.
 */
export interface PrincipalResolver {
  readonly kind: string;
  /** The consent page shows a name field (development sign-in only). */
  readonly signInField?: boolean;
  /** Allowed on a public https issuer (false only for an unforced development sign-in). */
  readonly production: boolean;
  /**
   * Why this resolver must not run for a request, as a message for the operator (what to
   * configure); undefined when it may. Asked before the consent page is shown or decided.
   */
  refusal?(input: { requestUrl: URL; issuerUrl: URL }): string | undefined;
  resolve(input: PrincipalRequest): Promise<Principal | undefined>;
}
