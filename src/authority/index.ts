import type { ResolvedOptions } from '../options.js';
import type { GrantAuthority } from './types.js';
import { localAuthority } from './local/index.js';
import { grantexAuthority } from './grantex/index.js';

export type { GrantAuthority } from './types.js';

/** The grant authority of these options, picked once by createMcpAuth: `authority: grantex(...)`, or the local signer. */
export function selectGrantAuthority(options: ResolvedOptions): GrantAuthority {
  return options.authority ? grantexAuthority(options.authority, options) : localAuthority(options);
}
