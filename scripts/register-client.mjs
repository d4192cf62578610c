#!/usr/bin/env node
// Makes a pre-registered client for the CLIENTS variable (JSON array) or the `clients` option.
// The secret is printed once, to stderr; only its SHA-256 goes into the configuration.
//   node scripts/register-client.mjs --name "My app" --redirect https://app.example.com/cb [--public]
import { webcrypto as crypto } from 'node:crypto';
import { parseArgs } from 'node:util';
import { base64url } from 'jose';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    redirect: { type: 'string', multiple: true },
    public: { type: 'boolean', default: false },
    'auth-method': { type: 'string', default: 'client_secret_basic' },
    refresh: { type: 'boolean', default: true },
  },
});
if (!values.redirect?.length) {
  console.error('usage: register-client.mjs --name NAME --redirect URI [--redirect URI…] [--public] [--auth-method client_secret_post]');
  process.exit(2);
}
for (const uri of values.redirect) {
  const url = new URL(uri);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.hash || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    console.error(`redirect URI ${uri} must be https (or http on a loopback host) without a fragment`);
    process.exit(2);
  }
}
const random = (bytes) => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
const sha256 = async (value) => base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))));
const method = values.public ? 'none' : values['auth-method'];
const record = {
  client_id: random(16),
  client_id_issued_at: Math.floor(Date.now() / 1000),
  redirect_uris: values.redirect,
  token_endpoint_auth_method: method,
  grant_types: values.refresh ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
  response_types: ['code'],
  application_type: values.redirect.every((u) => ['localhost', '127.0.0.1', '[::1]'].includes(new URL(u).hostname)) ? 'native' : 'web',
  ...(values.name ? { client_name: values.name } : {}),
};
if (method !== 'none') {
  const secret = random(32);
  record.client_secret_hash = await sha256(secret);
  record.client_secret_expires_at = 0;
  console.error(`client_id:     ${record.client_id}\nclient_secret: ${secret}   (shown once; only its hash is below)`);
} else console.error(`client_id: ${record.client_id} (public client, no secret)`);
process.stdout.write(`${JSON.stringify(record)}\n`);
