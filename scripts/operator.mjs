#!/usr/bin/env node
// The operator API of a running worker (local or deployed): clients, a user's grants, signing keys.
// The secret comes from the OPERATOR_SECRET environment variable, never from the command line.
import { commandLine } from './lib/command-line.mjs';

const USAGE = `usage: OPERATOR_SECRET=… node scripts/operator.mjs --issuer URL COMMAND

Commands:
  clients list                      every client: registered (KV) and configured (CLIENTS)
  clients delete --client-id ID     delete a registered client
  grants revoke --sub USER          end every grant of a user (Grantex mode: at Grantex too)
  keys rotate [--force]             sign with the published next key; publish a new next key
                                    (refused while the next key is younger than the JWKS caches)

Options:
  --issuer URL   the worker's ISSUER, e.g. https://auth.example.com or http://localhost:8787
  --help         this text

Environment:
  OPERATOR_SECRET  the worker's OPERATOR_SECRET secret (the operator API exists only when it is set)

Exit status: 0 done, 1 the worker refused or failed, 2 wrong command line or environment.`;

function failure(message) {
  console.error(`operator: ${message}`);
  process.exit(1);
}

const { values, positionals, usageError } = commandLine(
  'operator',
  USAGE,
  { issuer: { type: 'string' }, 'client-id': { type: 'string' }, sub: { type: 'string' }, force: { type: 'boolean', default: false } },
  { allowPositionals: true },
);

const command = positionals.join(' ');
const COMMANDS = ['clients list', 'clients delete', 'grants revoke', 'keys rotate'];
if (!COMMANDS.includes(command)) usageError(command ? `unknown command "${command}"` : 'a command is required');

if (!values.issuer) usageError("--issuer is required (the worker's ISSUER)");
let issuer;
try {
  issuer = new URL(values.issuer);
} catch {
  usageError(`--issuer "${values.issuer}" is not an absolute URL`);
}
const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
if (!(issuer.protocol === 'https:' || (issuer.protocol === 'http:' && loopback)) || issuer.search || issuer.hash)
  usageError(`--issuer "${values.issuer}" must be https (http only on localhost), without query or fragment`);
const base = values.issuer.replace(/\/$/, '');

const secret = process.env.OPERATOR_SECRET;
if (!secret) usageError("OPERATOR_SECRET is not set: export the value of the worker's OPERATOR_SECRET secret");
if (secret.length < 32 || !/^[\x21-\x7E]+$/.test(secret)) usageError('OPERATOR_SECRET must be at least 32 visible ASCII characters, as the worker requires');

if (command === 'clients delete' && !values['client-id']) usageError('clients delete needs --client-id ID');
if (command === 'grants revoke' && !values.sub) usageError('grants revoke needs --sub USER (the user id the grants were issued to)');
if (values.sub !== undefined && (values.sub.length === 0 || values.sub.length > 1024)) usageError('--sub must be 1 to 1024 characters');

/** One call to the operator API; the RFC 6749 §5.2-shaped error becomes a message naming the cause. */
async function api(method, path, body) {
  let res;
  try {
    res = await fetch(`${base}/operator${path}`, {
      method,
      headers: { Authorization: `Bearer ${secret}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    failure(`${base} could not be reached: ${err.cause?.message ?? err.message}`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  if (res.status === 404 && json?.error !== 'not_found')
    failure(`${base} serves no operator API: set the worker's OPERATOR_SECRET secret (and check --issuer)`);
  if (res.status === 401) failure(`OPERATOR_SECRET does not match the worker's OPERATOR_SECRET`);
  const retry = res.headers.get('Retry-After');
  failure(
    `${method} /operator${path}: ${res.status} ${json?.error ?? ''} ${json?.error_description ?? text.slice(0, 200)}${retry ? ` (retry after ${retry} s)` : ''}`,
  );
}

const print = (value) => console.log(JSON.stringify(value, null, 2));

if (command === 'clients list') {
  const clients = [];
  let cursor;
  for (let page = 0; page < 1000; page++) {
    const answer = await api('GET', `/clients${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
    clients.push(...answer.clients);
    cursor = answer.cursor;
    if (!cursor) break;
  }
  print(clients);
} else if (command === 'clients delete') {
  print(await api('DELETE', `/clients?client_id=${encodeURIComponent(values['client-id'])}`));
} else if (command === 'grants revoke') {
  let revoked = 0;
  const upstreamNotRevoked = [];
  let cursor;
  for (let call = 0; call < 10_000; call++) {
    const answer = await api('POST', '/grants/revoke', { sub: values.sub, ...(cursor ? { cursor } : {}) });
    revoked += answer.revoked;
    upstreamNotRevoked.push(...(answer.upstream_not_revoked ?? []));
    cursor = answer.cursor;
    if (!cursor) break;
  }
  print({ sub: values.sub, revoked, ...(upstreamNotRevoked.length ? { upstream_not_revoked: upstreamNotRevoked } : {}) });
  if (upstreamNotRevoked.length) failure(`${upstreamNotRevoked.length} Grantex grant(s) could not be revoked at Grantex; revoke them there (ids above)`);
} else if (command === 'keys rotate') {
  print(await api('POST', '/keys/rotate', values.force ? { force: true } : undefined));
}
