import { type RawHtml, html, raw } from './html';
import { statusPageScript } from './statusPageScript';

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; line-height: 1.4; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; justify-content: space-between; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #8884; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
.state.open, .bad { color: #c62828; font-weight: 600; }
.state.closed, .ok { color: #2e7d32; }
.sev { font-weight: 600; }
dl.inputs { display: grid; grid-template-columns: max-content 1fr; gap: 0 0.5rem; margin: 0; font-size: 0.8rem; }
dl.inputs dd, dl.alert-stats dd { margin: 0; }
dl.alert-stats { display: grid; grid-template-columns: max-content 1fr; gap: 0 1rem; }
.drift-chart { max-width: 100%; height: auto; }
#live[data-state="live"] { color: #2e7d32; }
#live[data-state="reconnecting"] { color: #ef6c00; }
:focus-visible { outline: 3px solid #1565c0; outline-offset: 2px; }
button { font: inherit; padding: 0.2rem 0.6rem; }
dialog form p { margin: 0.5rem 0; }
.error { color: #c62828; }
`;

/** The `'nonce-…'` the page's one script and one style element carry (the CSP allows nothing else). */
export function statusPageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface PageOptions {
  nonce: string;
  /** The data, rendered by the server (the no-JS view after the key form); absent in the bare shell. */
  fragment?: RawHtml;
  /** A sentence above the key form (a refused key). */
  message?: string;
}

/**
 * The status page. The bare shell (GET /) holds no data: every reading needs a key. With JavaScript the
 * script takes the key from the form, keeps it in sessionStorage and loads the data over fetch; without,
 * the form POSTs the key (in the body: never in a URL or cookie) and the answer is this page with the
 * data rendered in (read-only, no live updates).
 */
export function statusPage(opts: PageOptions): RawHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <link rel="icon" href="data:," />
        <title>CostSim guard status</title>
        <style nonce="${opts.nonce}">
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <h1>CostSim guard status</h1>
          <p>
            <span id="live" role="status" data-state="off"
              >${opts.fragment ? 'snapshot (not live)' : 'not connected'}</span
            >
            <button type="button" id="forget" hidden>Forget key</button>
          </p>
        </header>
        <p id="notice" role="status" aria-live="polite">${opts.message ?? ''}</p>
        <form id="key-form" method="post" action="/" ${opts.fragment ? raw(' hidden') : ''}>
          <p>
            <label for="key">API key (read scope)</label>
            <input id="key" name="key" type="password" autocomplete="off" required />
            <button type="submit">Show status</button>
          </p>
          <noscript
            ><p>
              Without JavaScript the key is sent once in this form's body and the answer is a snapshot: submit
              again to refresh. Live updates and disable/enable need JavaScript.
            </p></noscript
          >
        </form>
        <main id="status" aria-live="off">${opts.fragment ?? ''}</main>
        <dialog id="action-dialog" aria-labelledby="action-title">
          <form id="action-form" method="dialog">
            <h2 id="action-title">Breaker</h2>
            <p>
              <label for="action-reason">Reason</label>
              <input id="action-reason" name="reason" maxlength="500" size="40" />
            </p>
            <p id="action-ttl-row">
              <label for="action-ttl">TTL hours (empty: the default; 0: until enabled)</label>
              <input id="action-ttl" name="ttl_hours" type="number" min="0" step="any" />
            </p>
            <p id="action-error" class="error" role="alert"></p>
            <p>
              <button type="submit" id="action-submit">Apply</button>
              <button type="button" id="action-cancel">Cancel</button>
            </p>
          </form>
        </dialog>
        <script nonce="${opts.nonce}">
          ${raw(statusPageScript)};
        </script>
      </body>
    </html>`;
}
