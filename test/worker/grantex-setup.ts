import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { grantex, type GrantexAuthorityOptions } from '../../src/authority/grantex/config';
import { createGrantexClient } from '../../src/authority/grantex/client';
import { customPrincipal } from '../../src/principal/custom';
import type { AuditEvent } from '../../src/events';
import type { McpAuthOptions } from '../../src/options';
import type { Logger } from '../../src/log';
import { createFakeGrantex, fakeGrantexFetch, FAKE_GRANTEX_API_KEY, type FakeGrantex } from '../fixtures/fake-grantex/app';
import { ISSUER, RESOURCE, form } from './helpers';

/** Where the fake Grantex answers (its API and its consent pages). */
export const GRANTEX = 'https://grantex.test';
export const GRANTEX_SCOPES = ['mcp:tools:read', 'mcp:tools:write', 'offline_access'];
/** Another Grantex developer on the same service (the real one signs every developer's tokens with one key and one iss). */
export const STRANGER_API_KEY = 'gx_test_stranger_key_0002';

export interface GrantexSetupOptions {
  /** The fake Grantex approves at once (no consent page). */
  sandbox?: boolean;
  /** 'dev': the development sign-in (the default); 'known': every request is signed in as carol. */
  principal?: 'dev' | 'known';
  /** Retries of the Grantex API client (default 2). */
  maxRetries?: number;
  forwardAuditEvents?: boolean;
  introspection?: 'jwks' | 'online';
  /** The server's scopes (default GRANTEX_SCOPES). */
  scopes?: string[];
  /** Where the fake serves its consent pages (its public base URL; default GRANTEX, its API's origin). */
  consentBaseUrl?: string;
  /**
   * Configure the authority as a user would: this `baseUrl` and the API key, the JWKS and the
   * consent origins by default (all requests still reach the fake). Default: a client for GRANTEX
   * and `consentOrigins: [GRANTEX]`.
   */
  apiBaseUrl?: string;
  /** Rate limits (default off), the client address they count by, and the server's clock. */
  rateLimits?: McpAuthOptions['rateLimits'];
  clientAddress?: McpAuthOptions['clientAddress'];
  clock?: () => number;
  /** Where the server's lines go (default: nowhere, `log: false`). */
  logger?: Logger;
}

/** The Grantex authority for a fake Grantex in this isolate, reached as GRANTEX with its first API key. */
export function fakeGrantexAuthority(fake: FakeGrantex, agentId: string, extra: { maxRetries?: number } & Partial<GrantexAuthorityOptions> = {}) {
  const fakeFetch = fakeGrantexFetch(fake);
  const { maxRetries, ...rest } = extra;
  return grantex({
    client: createGrantexClient({
      baseUrl: GRANTEX,
      apiKey: FAKE_GRANTEX_API_KEY,
      fetch: fakeFetch,
      sleep: async () => {},
      ...(maxRetries !== undefined ? { maxRetries } : {}),
    }),
    jwksUri: `${GRANTEX}/.well-known/jwks.json`,
    consentOrigins: [GRANTEX],
    agentId,
    developerId: fake.control.developerId(),
    tokenIssuer: fake.control.issuer,
    fetch: fakeFetch,
    ...rest,
  });
}

/**
 * The authorization server in Grantex mode, talking to a fake Grantex in the same isolate, routed
 * at '/' of a Hono host (add host routes to `host`). `request` and `postForm` go to the host at the issuer.
 */
export function grantexSetup(options: GrantexSetupOptions = {}) {
  const fake = createFakeGrantex({
    sandbox: options.sandbox,
    consentBaseUrl: options.consentBaseUrl ?? GRANTEX,
    apiKeys: [FAKE_GRANTEX_API_KEY, STRANGER_API_KEY],
  });
  const agent = fake.control.registerAgent({ name: 'MCP gateway' });
  const fakeFetch = fakeGrantexFetch(fake);
  const events: AuditEvent[] = [];
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: options.scopes ?? GRANTEX_SCOPES,
    rateLimits: options.rateLimits ?? { enabled: false },
    clientAddress: options.clientAddress,
    clock: options.clock,
    ...(options.logger ? { logger: options.logger } : { log: false }),
    onEvent: (e) => void events.push(e),
    principal: options.principal === 'known' ? customPrincipal(() => ({ id: 'carol' })) : undefined,
    authority: options.apiBaseUrl
      ? grantex({
          baseUrl: options.apiBaseUrl,
          apiKey: FAKE_GRANTEX_API_KEY,
          agentId: agent.agentId,
          developerId: fake.control.developerId(),
          tokenIssuer: fake.control.issuer,
          fetch: fakeFetch,
          forwardAuditEvents: options.forwardAuditEvents,
          introspection: options.introspection,
        })
      : fakeGrantexAuthority(fake, agent.agentId, {
          maxRetries: options.maxRetries ?? 2,
          forwardAuditEvents: options.forwardAuditEvents,
          introspection: options.introspection,
        }),
  });
  const host = new Hono();
  host.route('/', auth.app);
  const request = (path: string, init: RequestInit = {}) => host.fetch(new Request(new URL(path, ISSUER), { redirect: 'manual', ...init }), env);
  const postForm = (path: string, values: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
    request(path, { method: 'POST', body: form(values), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers } });
  return { fake, agent, auth, host, request, postForm, events, fakeFetch };
}

export type GrantexSetup = ReturnType<typeof grantexSetup>;
