#!/usr/bin/env node
// Serves a worker locally with `wrangler dev` under an issuer that matches the port it listens on,
// then prints what to do next. `npm run dev` (the authorization server), `npm run dev:example`
// (the example MCP server). Run with --help for the options.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';

const HELP = `Usage: npm run dev [-- --port <port>] [-- <wrangler dev options>]
       npm run dev:example [-- --port <port>]

Serves the worker on http://localhost:<port> with ISSUER=http://localhost:<port>, so the
issuer it advertises is always the address it answers at.

  --port <port>   port to listen on (default: the PORT variable, else 8787)
  -c <config>     wrangler configuration (default: wrangler.toml)
  --help          this text

Variables:
  PORT            port to listen on when --port is not given
  ISSUER          the issuer to advertise instead (e.g. an https tunnel to this port); a
                  loopback ISSUER must name the port the server listens on

Any other option is passed to wrangler dev (e.g. --persist-to <dir>, --var KEY:VALUE).
Ctrl-C stops the server.`;

const DEFAULT_PORT = 8787;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The port, the issuer and wrangler's own arguments from argv and the environment. Pure; throws a message. */
export function devSettings(argv, env) {
  const passThrough = [];
  let portArg;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--port') {
      portArg = argv[i + 1];
      i += 1;
    } else if (arg.startsWith('--port=')) portArg = arg.slice('--port='.length);
    else if (arg === '--ip' || arg.startsWith('--ip=')) throw new Error('--ip is fixed to 127.0.0.1 (the issuer is http://localhost:<port>)');
    else passThrough.push(arg);
  }
  const [name, raw] = portArg !== undefined ? ['--port', portArg] : env.PORT ? ['PORT', env.PORT] : ['', String(DEFAULT_PORT)];
  if (!/^\d{1,5}$/.test(raw ?? '') || Number(raw) < 1 || Number(raw) > 65535)
    throw new Error(`${name} must be a port number from 1 to 65535, not "${raw ?? ''}"`);
  const port = Number(raw);
  let issuer = `http://localhost:${port}`;
  if (env.ISSUER) {
    let url;
    try {
      url = new URL(env.ISSUER);
    } catch {
      throw new Error(`ISSUER must be a URL such as http://localhost:${port}, not "${env.ISSUER}"`);
    }
    const urlPort = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (LOOPBACK_HOSTS.has(url.hostname) && urlPort !== String(port))
      throw new Error(`ISSUER ${env.ISSUER} names port ${urlPort} but the server listens on ${port}: leave ISSUER unset, or start with PORT=${urlPort}`);
    issuer = env.ISSUER.replace(/\/$/, '');
  }
  return { port, issuer, passThrough };
}

/** The lines printed once the server answers: where it is and how to connect a client. Pure. */
export function nextSteps({ issuer, resource, mcpServed }) {
  const lines = [
    '',
    `mcp-auth-edge is ready at ${issuer} (open exactly this origin; any other answers 421)`,
    `  metadata:  ${issuer}/.well-known/oauth-authorization-server`,
  ];
  if (mcpServed) {
    lines.push(
      `  MCP:       ${resource}`,
      '  connect a client:',
      `    npx @modelcontextprotocol/inspector    then Transport "Streamable HTTP", URL ${resource}`,
      `    claude mcp add --transport http mcp-auth-edge-example ${resource}`,
      '  sign-in:   the client opens the consent page (/authorize) in your browser; type any name and',
      '             press Approve (the development sign-in, offered only on a localhost issuer)',
    );
  } else {
    lines.push(
      `  resource:  ${resource ?? `${issuer}/mcp`} (advertised; serve your MCP server there, or run npm run dev:example)`,
      '  sign-in:   /authorize shows the consent page with a name field (the development sign-in, localhost only);',
      '             README "Walk through the flow with curl" goes through it step by step',
    );
  }
  lines.push('  stop:      Ctrl-C', '');
  return lines.join('\n');
}

/** One attempt at the server: its metadata over the issuer's loopback address, or a TCP connection for another ISSUER. */
async function probe(issuer, port) {
  if (!isLoopbackIssuer(issuer))
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).on('error', () => resolve(false));
    });
  const res = await fetch(`${issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  if (!res?.ok) return false;
  const { issuer: advertised } = await res.json();
  if (advertised !== issuer) throw new Error(`the server advertises the issuer ${advertised}, expected ${issuer}`);
  return true;
}

/** Waits until the server answers (a readiness poll while wrangler starts); false if wrangler exits first. */
async function waitUntilServing(issuer, port, child) {
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  while (!exited) {
    if (await probe(issuer, port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

const isLoopbackIssuer = (issuer) => LOOPBACK_HOSTS.has(new URL(issuer).hostname);

/** The resource the server advertises (RFC 9728) and whether this worker serves it itself. */
async function describeResource(issuer) {
  if (!isLoopbackIssuer(issuer)) return { resource: undefined, mcpServed: false };
  // RFC 9728 §3.1: the metadata of the resource ${issuer}/mcp lives at the path-aware well-known URL.
  const prm = await fetch(`${issuer}/.well-known/oauth-protected-resource/mcp`).catch(() => undefined);
  const resource = prm?.ok ? (await prm.json()).resource : undefined;
  if (!resource?.startsWith(issuer)) return { resource, mcpServed: false };
  const probe = await fetch(resource, { method: 'POST' }).catch(() => undefined);
  // An MCP route behind protect() answers 401 with a challenge; an absent one 404.
  return { resource, mcpServed: probe?.status === 401 && probe.headers.has('www-authenticate') };
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  let settings;
  try {
    settings = devSettings(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`dev: ${err.message}`);
    process.exit(2);
  }
  const { port, issuer, passThrough } = settings;
  const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
  const args = [wranglerBin, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--var', `ISSUER:${issuer}`, ...passThrough];
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  // Ctrl-C reaches wrangler from the terminal (same process group); a signal sent to this process
  // alone is passed on. Either way this process ends when wrangler has stopped its workerd.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  try {
    if (await waitUntilServing(issuer, port, child)) console.log(nextSteps({ issuer, ...(await describeResource(issuer)) }));
  } catch (err) {
    console.error(`dev: ${err.message}`);
    child.kill('SIGTERM');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
