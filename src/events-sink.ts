import { errorFields } from './log.js';
import type { AuditEvent } from './events.js';
import type { ResolvedOptions } from './options.js';

export type EmitEvent = (event: AuditEvent) => Promise<void>;

/**
 * Sends each audit event to the log, the hooks and `forward` (the grant authority's audit log,
 * when it keeps one). A failing hook is logged and never breaks the response that caused the event.
 */
export function createEventSink(hooks: ResolvedOptions['hooks'], forward?: EmitEvent): EmitEvent {
  // The audit sink resolved from the options: one logger line per event (src/log.ts), or `log`; none when silenced.
  const audit = hooks.log || undefined;
  return async (event) => {
    const calls: Promise<void>[] = [];
    const safely = (name: string, fn: () => void | Promise<void>) => {
      try {
        calls.push(Promise.resolve(fn()).catch((err) => hooks.logger.error('hook failed', { hook: name, ...errorFields(err) })));
      } catch (err) {
        hooks.logger.error('hook failed', { hook: name, ...errorFields(err) });
      }
    };
    if (audit) safely('log', () => audit(event));
    if (hooks.onEvent) safely('onEvent', () => hooks.onEvent!(event));
    if (event.type === 'token.issued' && hooks.onTokenIssued) safely('onTokenIssued', () => hooks.onTokenIssued!(event));
    if (event.type === 'token.revoked' && hooks.onRevocation) safely('onRevocation', () => hooks.onRevocation!(event));
    if (forward) safely('audit forwarding', () => forward(event));
    await Promise.all(calls);
  };
}
