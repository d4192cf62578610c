import type { MiddlewareHandler } from 'hono';
import type { AppContext, AppEnv } from '../http/context.js';
import { mediaType, readJson } from '../http/request-body.js';
import { noStoreJson } from '../http/responses.js';
import { OAuthError } from '../errors.js';
import { sha256, timingSafeEqual } from '../crypto.js';
import { isStorableClientId, issuerKey } from '../storage/keys.js';
import type { ClientRecord } from '../storage/client-store.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { defer } from '../services.js';

/**
 * The operator API (README "Operate"), served only when an operator secret is configured:
 *   GET    {issuer}/operator/clients[?cursor=&limit=]   list registered and configured clients
 *   DELETE {issuer}/operator/clients?client_id=ID       delete a registered client
 *   POST   {issuer}/operator/grants/revoke {"sub"}       end every grant of a user
 *   POST   {issuer}/operator/keys/rotate [{"force"}]     promote the published next signing key
 */

/** Longest Authorization header looked at; the secret is at most 512 characters. */
const MAX_AUTHORIZATION_LENGTH = 1024;
/** Longest `sub` (a principal id) and cursor accepted. */
const MAX_SUB_LENGTH = 1024;
const MAX_CURSOR_LENGTH = 1024;
/** Clients per page (Workers KV lists at most 1000 keys; each listed client is one KV read). */
const MAX_CLIENTS_PER_PAGE = 100;
/** Grants ended per call: each is a Durable Object call, and a request has a bounded number. */
export const GRANTS_PER_CALL = 50;
/** An index row younger than this whose grant is not found may belong to a grant being created now. */
const GRANT_CREATION_SECONDS = 60;

/** RFC 6750 §2.1: the credentials of an `Authorization: Bearer` header, or undefined. Pure. */
export function bearerCredentials(header: string | undefined): string | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const match = /^Bearer +([\x21-\x7E]+) *$/i.exec(header);
  return match?.[1];
}

/**
 * Only a request bearing the operator secret passes. Both sides are hashed first, so the
 * comparison is constant-time over equal-length digests whatever was presented.
 */
export function operatorAuthentication(secret: string): MiddlewareHandler<AppEnv> {
  const expected = sha256(secret);
  return async (c, next) => {
    const header = c.req.header('Authorization');
    const presented = bearerCredentials(header);
    const matches = presented !== undefined && timingSafeEqual(await sha256(presented), await expected);
    if (!matches) {
      // RFC 6750 §3.1: no error code when no credentials were sent.
      const challenge = header === undefined ? 'Bearer realm="operator"' : 'Bearer realm="operator", error="invalid_token"';
      throw new OAuthError('invalid_token', 'The operator secret is missing or wrong.', { headers: { 'WWW-Authenticate': challenge } });
    }
    await next();
  };
}

/** A client as the operator sees it: never its secret's hash; where it comes from. */
function operatorView(client: ClientRecord, source: 'store' | 'configuration'): Record<string, unknown> {
  const { client_secret_hash: _hash, ...rest } = client;
  return { ...rest, source };
}

/** The KV binding of the default client store; an API error when clients live elsewhere. */
function clientNamespace(c: AppContext): KVNamespace {
  const { options } = c.var.services;
  if (options.clientStore)
    throw new OAuthError('invalid_request', 'Clients live in a custom clientStore, which the operator API cannot list or delete.', { status: 501 });
  return c.env[options.bindings.clients] as KVNamespace;
}

/** Parses `?limit=` (1..100, default 100) and `?cursor=` (bounded). Pure. */
export function clientPageRequest(query: URLSearchParams): { limit: number; cursor?: string } {
  const limitText = query.get('limit');
  const limit = limitText === null ? MAX_CLIENTS_PER_PAGE : Number(limitText);
  if (!/^\d{1,3}$/.test(limitText ?? '100') || !Number.isInteger(limit) || limit < 1 || limit > MAX_CLIENTS_PER_PAGE)
    throw new OAuthError('invalid_request', `limit must be a whole number from 1 to ${MAX_CLIENTS_PER_PAGE}.`);
  const cursor = query.get('cursor') ?? undefined;
  if (cursor !== undefined && (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[\x21-\x7E]+$/.test(cursor)))
    throw new OAuthError('invalid_request', 'cursor is not a cursor this API returned.');
  return { limit, cursor };
}

/** GET /operator/clients: one page of registered clients (configured ones on the first page). */
export async function listClients(c: AppContext): Promise<Response> {
  const kv = clientNamespace(c);
  const { options } = c.var.services;
  const { limit, cursor } = clientPageRequest(new URL(c.req.url).searchParams);
  const listed = await kv.list({ prefix: `client:${await issuerKey(options.issuer)}:`, limit, cursor });
  const stored = await Promise.all(listed.keys.map((key) => kv.get<ClientRecord>(key.name, 'json')));
  return noStoreJson(c, {
    clients: [
      ...(cursor === undefined ? options.clients.map((client) => operatorView(client, 'configuration')) : []),
      ...stored.filter((client): client is ClientRecord => client !== null).map((client) => operatorView(client, 'store')),
    ],
    ...(listed.list_complete ? {} : { cursor: listed.cursor }),
  });
}

/**
 * DELETE /operator/clients?client_id=ID: the client can no longer authorize, redeem, refresh,
 * introspect or revoke. Access tokens already issued stay valid until they expire.
 */
export async function deleteClient(c: AppContext): Promise<Response> {
  const kv = clientNamespace(c);
  const { options } = c.var.services;
  const clientId = new URL(c.req.url).searchParams.get('client_id');
  if (clientId === null || !isStorableClientId(clientId)) throw new OAuthError('invalid_request', 'client_id is required (1 to 255 visible ASCII characters).');
  if (options.clients.some((client) => client.client_id === clientId))
    throw new OAuthError('invalid_request', 'This client is configured (CLIENTS or the clients option); remove it there.', { status: 409 });
  const key = `client:${await issuerKey(options.issuer)}:${clientId}`;
  if ((await kv.get(key)) === null) throw new OAuthError('not_found', 'No registered client has this client_id.');
  await kv.delete(key);
  c.var.services.options.logger.info('operator deleted a client', { clientId });
  return noStoreJson(c, { deleted: clientId });
}

/** The JSON object body of an operator POST (an empty body is `{}`). */
async function jsonObject(c: AppContext): Promise<Record<string, unknown>> {
  const type = mediaType(c);
  if (c.req.raw.body === null || (c.req.header('Content-Length') === '0' && type === '')) return {};
  if (type !== 'application/json') throw new OAuthError('invalid_request', 'The request body must be application/json.');
  const body = await readJson(c);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OAuthError('invalid_request', 'The JSON body must be an object.');
  return body as Record<string, unknown>;
}

/** `{"sub", "cursor"?}` of a revocation. Pure. */
export function revocationRequest(body: Record<string, unknown>): { sub: string; after: string } {
  const { sub, cursor } = body;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH)
    throw new OAuthError('invalid_request', `sub must be the user's id (1 to ${MAX_SUB_LENGTH} characters).`);
  if (cursor !== undefined && (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(cursor)))
    throw new OAuthError('invalid_request', 'cursor is not a cursor this API returned.');
  return { sub, after: cursor ?? '' };
}

/**
 * POST /operator/grants/revoke: ends up to GRANTS_PER_CALL grants of the user (`sub`), each with
 * every token issued from it (RFC 7009 §2.1); `cursor` in the answer: call again with it. In
 * Grantex mode each ended grant's upstream grant is revoked too (`DELETE /v1/grants/{id}`);
 * ours ends first, so no upstream grant can be attached to it afterwards. An upstream grant
 * that could not be revoked is logged and listed in `upstream_not_revoked`; `protect()` refuses
 * its tokens regardless, since our grant is gone.
 */
export async function revokeUserGrants(c: AppContext): Promise<Response> {
  const { sub, after } = revocationRequest(await jsonObject(c));
  const services = c.var.services;
  const now = services.now();
  const index = services.userGrants(sub);
  const { grantIds, more } = await index.userGrantIds({ limit: GRANTS_PER_CALL, after, now });
  const ended = (await Promise.all(grantIds.map((grantId) => services.grant(grantId).endUserGrant({ sub })))) as (GrantRecord | undefined)[];
  const endedGrants = ended.filter((grant): grant is GrantRecord => grant !== undefined);
  // What the grant authority holds for them ends too (Grantex: their grants); undefined when it holds nothing.
  const notRevokedUpstream = await services.authority.grantsEnded(services, endedGrants, 'operator revocation');
  await index.forgetUserGrants({
    ended: endedGrants.map((grant) => grant.grant_id),
    notFound: grantIds.filter((_, i) => ended[i] === undefined),
    recordedBefore: now - GRANT_CREATION_SECONDS,
  });
  if (endedGrants.length > 0)
    c.var.services.options.logger.info('operator revoked grants of a user', {
      grantIds: endedGrants.map((grant) => grant.grant_id),
      upstreamNotRevoked: notRevokedUpstream ?? [],
    });
  for (const grant of endedGrants)
    defer(
      c,
      services.emit({
        type: 'token.revoked',
        clientId: grant.client_id,
        sub: grant.sub,
        grantId: grant.grant_id,
        upstreamGrantId: grant.upstream_grant_id ?? undefined,
        tokenType: 'refresh_token',
        reason: 'operator_request',
      }),
    );
  return noStoreJson(c, {
    sub,
    revoked: endedGrants.length,
    ...(notRevokedUpstream ? { upstream_not_revoked: notRevokedUpstream } : {}),
    ...(more ? { cursor: grantIds[grantIds.length - 1] } : {}),
  });
}

/**
 * POST /operator/keys/rotate: the published next key signs from now on, the current key stays
 * published until its last token has expired, and a new next key is published. Refused (409)
 * while the next key is younger than the JWKS caches (`force` overrides).
 */
export async function rotateSigningKey(c: AppContext): Promise<Response> {
  const body = await jsonObject(c);
  if (body.force !== undefined && typeof body.force !== 'boolean') throw new OAuthError('invalid_request', 'force must be true or false.');
  const services = c.var.services;
  const { options } = services;
  const refusal = services.authority.signingKeyRotationRefusal;
  if (refusal) throw new OAuthError('invalid_request', refusal, { status: 409 });
  if (options.privateJwk)
    throw new OAuthError('invalid_request', 'The signing key comes from SIGNING_PRIVATE_JWK (signing.privateJwk); replace that secret to change it.', {
      status: 409,
    });
  const { rotated, keys, nextPublishedBy } = await services.rotateSigningKeys({ force: body.force === true });
  const next = keys.find((key) => key.status === 'next');
  if (!rotated) {
    const waitSeconds = Math.max(1, (next?.created_at ?? 0) - nextPublishedBy);
    throw new OAuthError(
      'invalid_request',
      `The next key was published too recently for every JWKS cache to hold it; rotate in ${waitSeconds} s or with force.`,
      {
        status: 409,
        headers: { 'Retry-After': String(waitSeconds) },
      },
    );
  }
  const current = keys.find((key) => key.status === 'current');
  c.var.services.options.logger.info('operator rotated the signing key', { current: current?.kid, next: next?.kid });
  return noStoreJson(c, {
    current: current?.kid,
    next: next?.kid,
    published: keys.map((key) => ({ kid: key.kid, alg: key.alg, status: key.status, ...(key.retire_after ? { retire_after: key.retire_after } : {}) })),
  });
}
