import { Hono } from 'hono';
import { createMcpAuth } from './create-mcp-auth.js';
import { optionsFromEnv, type WorkerEnv } from './env.js';

export { McpAuthState } from './storage/state-object.js';

let app: Hono | undefined;

/** The stand-alone authorization server: options from `env`, built once per isolate. */
export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= new Hono().route('/', createMcpAuth(optionsFromEnv(env)).app);
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<WorkerEnv>;
