/**
 * The status page's script, inline in the page (no external assets; allowed by the page's CSP nonce).
 * Plain browser JavaScript, no framework. What it does:
 *  - keeps the key in sessionStorage (never in a URL or cookie) and sends it as a Bearer header;
 *  - fetches the server-rendered data fragment (GET /costsim/status) and swaps it in, keeping focus;
 *  - follows GET /costsim/events/stream with fetch (EventSource cannot send an Authorization header),
 *    parses the SSE itself, reconnects with Last-Event-ID, and re-fetches the fragment on each change
 *    (coalesced; again while the fragment shows an older version than the event's);
 *  - ticks the TTL countdowns; opens the disable/enable dialog for admins.
 */
export const statusPageScript = String.raw`
(() => {
  'use strict';
  const STORAGE = 'costsim-guard.key';
  const $ = (id) => document.getElementById(id);
  const statusBox = $('status');
  const live = $('live');
  const notice = $('notice');
  const keyForm = $('key-form');
  const keyInput = $('key');
  const forget = $('forget');
  const dialog = $('action-dialog');
  const actionForm = $('action-form');
  let key = sessionStorage.getItem(STORAGE);
  let lastId = null;
  let stream = null;
  let loading = null;
  let loadAgain = false;
  let retries = 0;
  const wanted = new Map();

  const setLive = (state, text) => { live.dataset.state = state; live.textContent = text; };
  const say = (text) => { notice.textContent = text; };
  const api = (path, init = {}) =>
    fetch(path, { ...init, cache: 'no-store', headers: { ...(init.headers || {}), Authorization: 'Bearer ' + key } });
  const problemText = async (res) => {
    try { const p = await res.json(); return p.detail || p.title || String(res.status); } catch { return String(res.status); }
  };

  function signOut(message) {
    key = null;
    sessionStorage.removeItem(STORAGE);
    if (stream) stream.abort();
    stream = null;
    lastId = null;
    statusBox.innerHTML = '';
    keyForm.hidden = false;
    forget.hidden = true;
    setLive('off', 'not connected');
    if (message) say(message);
    keyInput.focus();
  }

  function start() {
    keyForm.hidden = true;
    forget.hidden = false;
    void refresh().then(() => { if (key && !stream) void follow(); });
  }

  // One fragment load at a time; a change during one loads again right after it.
  function refresh() {
    if (loading) { loadAgain = true; return loading; }
    loading = (async () => {
      try {
        do { loadAgain = false; await loadOnce(); } while (loadAgain && key);
      } finally { loading = null; }
    })();
    return loading;
  }

  async function loadOnce() {
    let res;
    try { res = await api('/costsim/status'); } catch { say('The service cannot be reached; retrying.'); return; }
    if (res.status === 401 || res.status === 403) return signOut('Key refused: ' + (await problemText(res)));
    if (!res.ok) { say('Status could not be read: ' + (await problemText(res))); return; }
    const text = await res.text();
    const focused = document.activeElement && document.activeElement.id;
    statusBox.innerHTML = text;
    if (focused && $(focused) && !dialog.open) $(focused).focus();
    const data = $('status-data');
    if (lastId === null && data) lastId = data.dataset.position;
    tick();
    // The fragment may come from a read model a moment behind the event that asked for it: ask again.
    let behind = false;
    for (const [row, version] of wanted) {
      const el = $(row);
      if (el && Number(el.dataset.version) >= version) wanted.delete(row);
      else behind = true;
    }
    if (behind && retries++ < 20) setTimeout(() => void refresh(), 100);
    if (!behind) retries = 0;
  }

  function onEvent(type, data) {
    if (type === 'ready') return;
    let change;
    try { change = JSON.parse(data); } catch { return; }
    if (change.breaker && typeof change.stream_version === 'number' && change.stream.startsWith('breaker-')) {
      const row = 'breaker-' + change.breaker + '~' + (change.tenant_id || '');
      wanted.set(row, Math.max(wanted.get(row) || 0, change.stream_version));
    }
    void refresh();
  }

  // SSE over fetch: blocks separated by a blank line, fields "name: value".
  async function follow() {
    const controller = new AbortController();
    stream = controller;
    try {
      const headers = lastId ? { 'Last-Event-ID': lastId } : {};
      const res = await api('/costsim/events/stream', { headers, signal: controller.signal });
      if (res.status === 401 || res.status === 403) return signOut('Key refused: ' + (await problemText(res)));
      if (res.status === 400) { lastId = null; await refresh(); throw new Error('stream position refused'); }
      if (!res.ok || !res.body) throw new Error('stream answered ' + res.status);
      setLive('live', 'live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message';
          let id = null;
          const data = [];
          for (const line of block.split('\n')) {
            if (line === '' || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') type = value;
            else if (field === 'data') data.push(value);
            else if (field === 'id') id = value;
          }
          if (id !== null) lastId = id;
          if (data.length > 0) onEvent(type, data.join('\n'));
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    if (stream !== controller || !key) return;
    stream = null;
    setLive('reconnecting', 'reconnecting…');
    setTimeout(() => { if (key && !stream) void follow(); }, 1000);
  }

  function tick() {
    for (const el of document.querySelectorAll('time[data-countdown]')) {
      const ms = Date.parse(el.getAttribute('datetime')) - Date.now();
      if (ms <= 0) { el.textContent = 'expired'; continue; }
      const s = Math.floor(ms / 1000);
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      el.textContent = (h > 0 ? h + 'h ' : '') + (h > 0 || m > 0 ? m + 'm ' : '') + (s % 60) + 's left';
    }
  }
  setInterval(tick, 1000);

  keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = keyInput.value.trim();
    if (!value) return;
    key = value;
    keyInput.value = '';
    sessionStorage.setItem(STORAGE, key);
    say('');
    start();
  });
  forget.addEventListener('click', () => signOut('Key forgotten.'));

  // Disable / enable: a native dialog (focus stays inside, Escape closes it), opened from a row's button.
  let target = null;
  statusBox.addEventListener('click', (e) => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    target = { action: button.dataset.action, breaker: button.dataset.breaker, tenant: button.dataset.tenant, opener: button.id };
    $('action-title').textContent =
      (target.action === 'disable' ? 'Disable ' : 'Enable ') + target.breaker + (target.tenant ? ' for ' + target.tenant : ' (global)');
    $('action-reason').required = target.action === 'disable';
    $('action-ttl-row').hidden = target.action !== 'disable';
    $('action-submit').textContent = target.action === 'disable' ? 'Disable V2' : 'Enable V2';
    $('action-error').textContent = '';
    actionForm.reset();
    dialog.showModal();
    $('action-reason').focus();
  });
  $('action-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => { if (target && $(target.opener)) $(target.opener).focus(); });
  actionForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!target) return;
    const body = { reason: $('action-reason').value.trim() || undefined };
    const ttl = $('action-ttl').value.trim();
    if (target.action === 'disable' && ttl !== '') body.ttl_hours = Number(ttl);
    const path = '/costsim/breakers/' + encodeURIComponent(target.breaker) + '/' + target.action +
      (target.tenant ? '?tenant_id=' + encodeURIComponent(target.tenant) : '');
    let res;
    try {
      res = await api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } catch { $('action-error').textContent = 'The service cannot be reached.'; return; }
    if (!res.ok) { $('action-error').textContent = await problemText(res); return; }
    const answer = await res.json();
    const row = 'breaker-' + target.breaker + '~' + (target.tenant || '');
    wanted.set(row, Math.max(wanted.get(row) || 0, answer.state.version));
    say(target.breaker + (target.tenant ? ' (' + target.tenant + ')' : '') + (answer.state.open ? ' disabled: V2 off.' : ' enabled: V2 on.'));
    dialog.close();
    await refresh();
  });

  if (key) start(); else setLive('off', 'not connected');
})();
`;
