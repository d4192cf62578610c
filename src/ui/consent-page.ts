import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ConsentUiOptions } from '../options.js';

export interface ConsentPageInput {
  ui: ConsentUiOptions & { appName: string };
  /** The client's self-asserted name (or its id): shown, never trusted. */
  clientName: string;
  /** The host of a Client ID Metadata Document (an https URL client_id): who published the client's details. */
  clientDocumentHost?: string;
  redirectHost: string;
  /** The redirect URI in use is a loopback address: whatever runs on this computer receives the code. */
  loopbackRedirect: boolean;
  scopes: { name: string; description?: string }[];
  /** The protected resource being granted (RFC 8707). */
  resource: string;
  /** The signed, CSRF-bound authorization request the form posts back. */
  request: string;
  action: string;
  /** The signed-in user, when known. */
  principalName?: string;
  /** Development sign-in: ask for a name. */
  askForName: boolean;
  /** A login flow signed the user in: who, MACed and bound to this form (posted back as `principal`). */
  signedInPrincipal?: string;
  nonce: string;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1d2330;--muted:#5b6474;--line:#dfe3ea;--accent:#2f5bea;--accent-text:#fff;--warn-bg:#fff6e0;--warn-line:#f0c36d}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b1f27;--text:#e8ebf1;--muted:#a3abba;--line:#2c323d;--accent:#6b8cff;--accent-text:#0d1020;--warn-bg:#3a2f12;--warn-line:#8a6a1f}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:24px}
main{width:100%;max-width:440px;background:var(--card);border:1px solid var(--line);border-radius:14px;padding:28px;box-shadow:0 8px 30px rgba(0,0,0,.06)}
header{display:flex;align-items:center;gap:12px;margin-bottom:18px}header img{width:40px;height:40px;border-radius:8px;object-fit:contain}
header span{font-weight:600;color:var(--muted)}h1{font-size:1.3rem;line-height:1.35;margin:0 0 6px}p{margin:0 0 14px;color:var(--muted)}
.host,.resource{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;color:var(--text);overflow-wrap:anywhere}
.warn{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:10px;padding:10px 12px;margin:0 0 16px;color:var(--text);font-size:.93rem}
ul{list-style:none;padding:0;margin:0 0 18px;border:1px solid var(--line);border-radius:10px}
li{padding:10px 14px;border-top:1px solid var(--line)}li:first-child{border-top:0}li code{font-weight:600}li div{color:var(--muted);font-size:.92rem}
label{display:block;font-weight:600;margin:0 0 6px}input[type=text]{width:100%;padding:10px 12px;border:1px solid var(--line);border-radius:8px;background:transparent;color:var(--text);font:inherit;margin-bottom:16px}
input[type=text]:focus,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.actions{display:flex;flex-direction:row-reverse;gap:10px}button{flex:1;padding:11px 14px;border-radius:9px;font:inherit;font-weight:600;cursor:pointer;border:1px solid var(--line);background:transparent;color:var(--text)}
button.approve{background:var(--accent);border-color:var(--accent);color:var(--accent-text)}
footer{margin-top:18px;font-size:.85rem;color:var(--muted);display:flex;gap:14px;flex-wrap:wrap}footer:empty{display:none}footer a{color:inherit}`;

/**
 * Characters that change how text around them is shown, or are not shown at all: controls (Cc),
 * format characters (Cf: the bidi embeddings, overrides and isolates U+202A-202E and U+2066-2069,
 * the marks U+200E/F, zero-width characters, U+FEFF), lone surrogates and the line and paragraph
 * separators. Each becomes U+FFFD, so a client name can neither reorder nor hide text (Unicode TR 9
 * and UTS 39 spoofing concerns) and the alteration stays visible.
 */
const INVISIBLE_OR_REORDERING = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** A string as it may be shown on a page: every invisible or reordering character neutralised. */
export function shown(text: string): string {
  return text.replace(INVISIBLE_OR_REORDERING, '\uFFFD');
}

/**
 * The consent page (server-rendered, no script). Every value is HTML-escaped by `html`, and every
 * text is passed through `shown`. The client's `client_uri`, `logo_uri` and the like are not
 * shown: nothing has verified them, and they would read as facts about the client.
 */
export function renderConsentPage(input: ConsentPageInput): HtmlEscapedString | Promise<HtmlEscapedString> {
  const p = {
    ...input,
    clientName: shown(input.clientName),
    clientDocumentHost: input.clientDocumentHost === undefined ? undefined : shown(input.clientDocumentHost),
    redirectHost: shown(input.redirectHost),
    resource: shown(input.resource),
    principalName: input.principalName === undefined ? undefined : shown(input.principalName),
    scopes: input.scopes.map((s) => ({ name: shown(s.name), description: s.description === undefined ? undefined : shown(s.description) })),
    ui: { ...input.ui, appName: shown(input.ui.appName) },
  };
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>Authorize ${p.clientName} · ${p.ui.appName}</title>
        <style nonce="${p.nonce}">
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <main aria-labelledby="title">
          <header>${p.ui.logoUrl ? html`<img src="${p.ui.logoUrl}" alt="" />` : ''}<span>${p.ui.appName}</span></header>
          <h1 id="title"><strong>${p.clientName}</strong> wants to access your account</h1>
          ${p.clientDocumentHost ? html`<p>The application describes itself in a document published at <span class="host">${p.clientDocumentHost}</span>.</p>` : ''}
          <p>
            After you approve, you will be sent to <span class="host">${p.redirectHost}</span>.${
              p.principalName ? html` Signed in as <strong>${p.principalName}</strong>.` : ''
            }
          </p>
          ${
            p.loopbackRedirect
              ? html`<div class="warn" role="note">
                  <strong>Local application.</strong> This application receives the authorization on your own computer (${p.redirectHost}). Approve only if you
                  started it yourself.
                </div>`
              : ''
          }
          <form method="post" action="${p.action}">
            <p id="scopes-label">It asks for access to <span class="resource">${p.resource}</span> with permission to:</p>
            <ul aria-labelledby="scopes-label">
              ${p.scopes.map((s) => html`<li><code>${s.name}</code>${s.description ? html`<div>${s.description}</div>` : ''}</li>`)}
            </ul>
            <input type="hidden" name="request" value="${p.request}" />
            ${p.signedInPrincipal ? html`<input type="hidden" name="principal" value="${p.signedInPrincipal}" />` : ''}
            ${
              p.askForName
                ? html`<label for="username">Your name (development sign-in)</label>
                    <input type="text" id="username" name="username" required maxlength="64" autocomplete="username" autofocus />`
                : ''
            }
            <div class="actions">
              <button type="submit" name="action" value="approve" class="approve">Approve</button>
              <button type="submit" name="action" value="deny" formnovalidate>Deny</button>
            </div>
          </form>
          <footer>
            ${p.ui.privacyPolicyUrl ? html`<a href="${p.ui.privacyPolicyUrl}">Privacy policy</a>` : ''}${
              p.ui.termsOfServiceUrl ? html`<a href="${p.ui.termsOfServiceUrl}">Terms of service</a>` : ''
            }
          </footer>
        </main>
      </body>
    </html>`;
}

/** A page for requests that cannot be sent back to the client (unknown client, bad redirect). */
export function renderErrorPage(input: { appName: string; title: string; message: string; nonce: string }): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${input.title} · ${input.appName}</title>
        <style nonce="${input.nonce}">
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <main role="alert">
          <header><span>${input.appName}</span></header>
          <h1>${input.title}</h1>
          <p>${input.message}</p>
        </main>
      </body>
    </html>`;
}
