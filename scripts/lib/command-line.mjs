// The command line of an operator script: one way to parse it, print `--help` and refuse a wrong one.
import { parseArgs } from 'node:util';

/**
 * Parses `process.argv` with `node:util` `parseArgs` (strict). `--help` prints `usage` and exits 0;
 * an unknown or malformed option prints the problem and `usage` and exits 2.
 * Returns the parsed `values` and `positionals`, and `usageError(message)` for later checks.
 */
export function commandLine(name, usage, options, { allowPositionals = false } = {}) {
  const usageError = (message) => {
    console.error(`${name}: ${message}\n\n${usage}`);
    process.exit(2);
  };
  let parsed;
  try {
    parsed = parseArgs({ strict: true, allowPositionals, options: { ...options, help: { type: 'boolean', default: false } } });
  } catch (err) {
    usageError(err.message);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return { values: parsed.values, positionals: parsed.positionals, usageError };
}

/** Hosts a browser reaches on this machine only: http is allowed there. */
export const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * An https URL (http only on a loopback host) without a fragment, as the server requires of
 * issuers, resources and redirect URIs; otherwise `usageError` names the option.
 */
export function webUrl(option, value, usageError) {
  let url;
  try {
    url = new URL(value);
  } catch {
    usageError(`${option} "${value}" is not an absolute URL`);
  }
  if (url.hash || value.includes('#') || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.includes(url.hostname))))
    usageError(`${option} "${value}" must be https (http only on localhost, 127.0.0.1 or [::1]), without a fragment`);
  return url;
}
