#!/usr/bin/env node
// Makes a pre-registered client for the CLIENTS variable or the `clients` option. Prints a JSON
// array (a complete CLIENTS value), or with --append the existing CLIENTS value plus the new client.
// The secret is printed once, to stderr; only its SHA-256 goes into the configuration.
import { readFileSync } from 'node:fs';
import { webcrypto as crypto } from 'node:crypto';
import { commandLine, LOOPBACK, webUrl } from './lib/command-line.mjs';
import { base64url } from 'jose';

const USAGE = `usage: node scripts/register-client.mjs --redirect URI [--redirect URI…] [options]

Prints a CLIENTS value (a JSON array of client records) on stdout; the client secret on stderr.

  --redirect URI        a redirect URI: https, or http on localhost/127.0.0.1/[::1]; no fragment (repeatable)
  --name NAME           the client's name, shown on the consent page
  --public              a public client (no secret; token_endpoint_auth_method "none")
  --auth-method METHOD  client_secret_basic (default) or client_secret_post
  --no-refresh          no refresh_token grant for this client
  --append CLIENTS      the current CLIENTS value (JSON array), or - to read it from stdin:
                        prints it with the new client added
  --help                this text

Examples:
  node scripts/register-client.mjs --name "My app" --redirect https://app.example.com/cb > clients.json
  npx wrangler secret put CLIENTS < clients.json        (or CLIENTS = '…' in wrangler.toml [vars])
  node scripts/register-client.mjs --redirect http://127.0.0.1:3000/cb --public --append - < clients.json > next.json`;

// A wrong command line or input ends with a message naming what is wrong, and exit status 2.
const { values, usageError: fail } = commandLine('register-client', USAGE, {
  name: { type: 'string' },
  redirect: { type: 'string', multiple: true },
  public: { type: 'boolean', default: false },
  'auth-method': { type: 'string' },
  'no-refresh': { type: 'boolean', default: false },
  append: { type: 'string' },
});

if (!values.redirect?.length) fail("--redirect is required (the client's redirect URI)");
for (const uri of values.redirect) webUrl('--redirect', uri, fail);
if (values.name !== undefined && (values.name.length === 0 || values.name.length > 200)) fail('--name must be 1 to 200 characters');
if (values.public && values['auth-method'] !== undefined && values['auth-method'] !== 'none')
  fail('--public and --auth-method contradict each other: a public client has no secret');
const method = values.public ? 'none' : (values['auth-method'] ?? 'client_secret_basic');
if (!['client_secret_basic', 'client_secret_post', 'none'].includes(method)) fail(`--auth-method "${method}" is not client_secret_basic or client_secret_post`);

/** The existing CLIENTS value to add to: a JSON array of client records. */
function existingClients(source) {
  let text;
  try {
    text = source === '-' ? readFileSync(0, 'utf8') : source;
  } catch (err) {
    fail(`--append: CLIENTS could not be read from stdin (${err.message})`);
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail('--append: the CLIENTS value is not valid JSON');
  }
  if (!Array.isArray(parsed)) fail('--append: CLIENTS must be a JSON array of client records (an older single record? wrap it in [ ])');
  parsed.forEach((client, i) => {
    if (typeof client !== 'object' || client === null || Array.isArray(client) || typeof client.client_id !== 'string')
      fail(`--append: CLIENTS[${i}] is not a client record with a client_id`);
  });
  return parsed;
}
const existing = values.append === undefined ? [] : existingClients(values.append);

const random = (bytes) => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
const sha256 = async (value) => base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))));
const record = {
  client_id: random(16),
  client_id_issued_at: Math.floor(Date.now() / 1000),
  redirect_uris: values.redirect,
  token_endpoint_auth_method: method,
  grant_types: values['no-refresh'] ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  application_type: values.redirect.every((u) => LOOPBACK.includes(new URL(u).hostname)) ? 'native' : 'web',
  ...(values.name ? { client_name: values.name } : {}),
};
if (method !== 'none') {
  const secret = random(32);
  record.client_secret_hash = await sha256(secret);
  record.client_secret_expires_at = 0;
  console.error(`client_id:     ${record.client_id}\nclient_secret: ${secret}   (shown once; only its hash is in CLIENTS)`);
} else console.error(`client_id: ${record.client_id} (public client, no secret)`);
process.stdout.write(`${JSON.stringify([...existing, record])}\n`);
