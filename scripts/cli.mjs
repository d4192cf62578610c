#!/usr/bin/env node
// `npx mcp-auth-edge <command> [options]`: the operator scripts, for whoever has only the npm package.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMANDS = {
  'generate-signing-key': ['generate-signing-key.mjs', 'a signing key for SIGNING_PRIVATE_JWK'],
  'register-client': ['register-client.mjs', 'a pre-registered client for CLIENTS'],
  'check-deploy': ['check-deploy-config.mjs', 'refuse a wrangler config that must not be deployed'],
  smoke: ['smoke.mjs', 'run the whole OAuth flow once against an issuer'],
  operator: ['operator.mjs', 'list and delete clients, revoke a user, rotate the signing key'],
};
const USAGE = `usage: mcp-auth-edge <command> [options]   (each command has --help)

${Object.entries(COMMANDS)
  .map(([name, [, what]]) => `  ${name.padEnd(22)}${what}`)
  .join('\n')}`;

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h') {
  console.log(USAGE);
  process.exit(command === undefined ? 2 : 0);
}
if (!Object.hasOwn(COMMANDS, command)) {
  console.error(`mcp-auth-edge: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}
const script = join(dirname(fileURLToPath(import.meta.url)), COMMANDS[command][0]);
const result = spawnSync(process.execPath, [script, ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
