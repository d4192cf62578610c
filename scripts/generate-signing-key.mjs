#!/usr/bin/env node
// Prints a new private signing key as a JWK, for the SIGNING_PRIVATE_JWK secret:
//   node scripts/generate-signing-key.mjs [ES256|EdDSA|RS256] | npx wrangler secret put SIGNING_PRIVATE_JWK
// Without the secret the worker generates a key once and keeps it in its Durable Object.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const alg = process.argv[2] ?? 'ES256';
if (!['ES256', 'EdDSA', 'RS256'].includes(alg)) {
  console.error(`unsupported algorithm "${alg}": use ES256, EdDSA or RS256`);
  process.exit(2);
}
const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
const jwk = await exportJWK(privateKey);
jwk.kid = await calculateJwkThumbprint(jwk);
jwk.alg = alg;
process.stdout.write(`${JSON.stringify(jwk)}\n`);
console.error(`generated ${alg} key ${jwk.kid}; set SIGNING_ALGORITHM=${alg} in wrangler.toml [vars] as well`);
