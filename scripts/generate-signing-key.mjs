#!/usr/bin/env node
// Prints a new private signing key as a JWK, for the SIGNING_PRIVATE_JWK secret.
// Without that secret the worker generates keys itself, keeps them in its Durable Object and
// rotates them with `node scripts/operator.mjs keys rotate`.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];
const USAGE = `usage: node scripts/generate-signing-key.mjs [ES256|EdDSA|RS256]

Prints a private JWK (default ES256) on stdout for the SIGNING_PRIVATE_JWK secret:
  node scripts/generate-signing-key.mjs EdDSA | npx wrangler secret put SIGNING_PRIVATE_JWK

The worker reads the algorithm from the key: SIGNING_ALGORITHM may stay unset (if set, it must
name the key's algorithm, or the worker refuses to start).`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 1 || args.some((arg) => arg.startsWith('-'))) {
  console.error(`generate-signing-key: unexpected arguments: ${args.join(' ')}\n\n${USAGE}`);
  process.exit(2);
}
const alg = args[0] ?? 'ES256';
if (!ALGORITHMS.includes(alg)) {
  console.error(`generate-signing-key: "${alg}" is not a SIGNING_ALGORITHM this server signs with: use ES256, EdDSA or RS256\n\n${USAGE}`);
  process.exit(2);
}
const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
const jwk = await exportJWK(privateKey);
jwk.kid = await calculateJwkThumbprint(jwk);
jwk.alg = alg;
process.stdout.write(`${JSON.stringify(jwk)}\n`);
console.error(`generated ${alg} key ${jwk.kid} for SIGNING_PRIVATE_JWK (the worker infers SIGNING_ALGORITHM=${alg} from it)`);
