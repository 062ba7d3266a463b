// The demo page: gives Alice's and Bob's <astral-phone> demo tokens, wires the quick-call buttons (and Alice's
// "Call the agent", which dials the built-in AI agent agent:akylai), polls call stats and logs the astral-* events.

const PHONES = ['alice', 'bob'];
const BUSY_STATES = new Set(['incoming', 'dialing', 'ringing', 'in-call']);
const CALL_STATES = new Set(['dialing', 'ringing', 'in-call']);
/** Fetch a fresh token this long before the current one expires. */
const REFRESH_MARGIN_MS = 60_000;
const LOG_LIMIT = 20;
const EVENTS = ['astral-ready', 'astral-state', 'astral-incoming', 'astral-call', 'astral-call-ended', 'astral-dtmf', 'astral-error'];

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------------------------------------- event log

const logList = $('#event-log');
const logEmpty = $('#log-empty');
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const shortTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });

/** Adds one line to the log (newest first), keeping the last LOG_LIMIT. */
function log(source, name, text, tone = '') {
  const now = new Date();
  const item = document.createElement('li');
  if (tone) item.dataset.tone = tone;
  const time = document.createElement('time');
  time.dateTime = now.toISOString();
  time.textContent = `${timeFormat.format(now)}.${String(now.getMilliseconds()).padStart(3, '0')}`;
  const who = document.createElement('span');
  who.className = 'log-source';
  who.dataset.source = source.toLowerCase();
  who.textContent = source;
  const event = document.createElement('code');
  event.className = 'log-event';
  event.textContent = name;
  const detail = document.createElement('span');
  detail.className = 'log-detail';
  detail.textContent = text;
  item.append(time, who, event, detail);
  logList.prepend(item);
  while (logList.children.length > LOG_LIMIT) logList.lastElementChild.remove();
  logEmpty.hidden = true;
}

/** An AI agent as a call's remote party: its identity is `agent:<key>`. */
const isAgent = (p) => typeof p?.identity === 'string' && p.identity.startsWith('agent:');
const partyName = (p) => (p ? p.displayName || p.identity : '?');
const party = (p) => (p ? `${partyName(p)}${p.extension ? ` (ext. ${p.extension})` : ''}` : '?');
const shortId = (id) => (id ? `#${String(id).slice(-6)}` : '');

/** A one-line summary of an astral-* event's detail. */
function describe(type, d) {
  switch (type) {
    case 'astral-ready':
      return `signed in as ${party(d.user)}`;
    case 'astral-state':
      return `state → ${d.state}`;
    case 'astral-incoming':
      return `call ${shortId(d.callId)} from ${party(d.from)}`;
    case 'astral-call': {
      const c = d.call;
      if (!c) return 'no active call';
      const flags = [c.answeredAt ? 'answered' : 'not answered yet', c.muted && 'muted', c.remoteMuted && 'other side muted'].filter(Boolean);
      const who = isAgent(c.remote) ? `${partyName(c.remote)} (AI agent)` : partyName(c.remote);
      return `${c.direction} call ${shortId(c.id)} ${c.direction === 'outgoing' ? 'to' : 'from'} ${who}: ${flags.join(', ')}`;
    }
    case 'astral-call-ended':
      return `call ${shortId(d.callId)} ended: ${d.reason}, ${d.disposition}, ${d.duration}s`;
    case 'astral-dtmf':
      return `tones ${d.digits}`;
    case 'astral-error':
      return `${d.code}: ${d.message}`;
    default:
      return JSON.stringify(d);
  }
}

$('#clear-log').addEventListener('click', () => {
  logList.replaceChildren();
  logEmpty.hidden = false;
});

// ---------------------------------------------------------------------------------------------- widget check

const widgetLoaded = Boolean(customElements.get('astral-phone'));
if (!widgetLoaded) {
  // The classic deferred script ran (or failed) before this module: no element means no bundle.
  $('#widget-missing').hidden = false;
  document.body.classList.add('no-widget');
  for (const id of PHONES) $(`#token-${id}`).textContent = 'Phone unavailable: the widget bundle is not built.';
  $('#try-status').textContent = 'The phones need the widget bundle: run npm run build:widget, then reload.';
  log('Demo', 'widget', '/widget/astral-phone.js did not load: run npm run build:widget', 'error');
}

// ---------------------------------------------------------------------------------------------- tokens

async function fetchToken(identity) {
  let res;
  try {
    res = await fetch('/demo/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ identity }),
    });
  } catch {
    throw new Error('could not reach the server');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok || typeof body?.token !== 'string') throw new Error(body?.message || `the server answered ${res.status}`);
  return body;
}

/**
 * Keeps one phone supplied with demo tokens: fetches one, then a fresh one a minute before it expires.
 * Setting a new token makes the element reconnect, so during a call the fresh token waits until the call ends.
 */
class TokenKeeper {
  constructor(identity, phone, statusEl) {
    this.identity = identity;
    this.phone = phone;
    this.status = statusEl;
    this.name = phone.dataset.name;
    this.timer = null;
    this.pending = null;
    this.expiresAt = 0;
    this.lastForced = 0;
    phone.addEventListener('astral-state', () => this.applyPending());
    phone.addEventListener('astral-error', (e) => {
      // the token was refused (expired while offline, say): get a fresh one, at most every 15 s
      if ((e.detail.code === 'token_expired' || e.detail.code === 'unauthorized') && Date.now() - this.lastForced > 15_000) {
        this.lastForced = Date.now();
        this.refresh();
      }
    });
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const t = await fetchToken(this.identity);
      this.expiresAt = Date.parse(t.expires_at);
      this.pending = t.token;
      const first = !this.phone.token;
      log(this.name, 'demo token', `${first ? 'fetched' : 'refreshed'}, valid until ${timeFormat.format(new Date(this.expiresAt))}`, 'demo');
      this.applyPending();
      this.schedule(Math.max(5_000, this.expiresAt - Date.now() - REFRESH_MARGIN_MS));
    } catch (err) {
      this.status.textContent = `Could not get a demo token: ${err.message}. Retrying in 10 s.`;
      this.status.dataset.tone = 'error';
      log(this.name, 'demo token', `failed: ${err.message}`, 'error');
      this.schedule(10_000);
    }
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  /** Hands the fresh token to the phone unless it is in a call. */
  applyPending() {
    if (!this.pending || BUSY_STATES.has(this.phone.state)) return;
    const token = this.pending;
    this.pending = null;
    this.phone.token = token;
    this.status.textContent = `Demo token valid until ${shortTime.format(new Date(this.expiresAt))}, auto-renewed.`;
    delete this.status.dataset.tone;
  }
}

// ---------------------------------------------------------------------------------------------- stats

const numberFormat = new Intl.NumberFormat();

class StatsPanel {
  constructor(phone, panel) {
    this.phone = phone;
    this.panel = panel;
    this.badge = $('[data-role="badge"]', panel);
    this.bar = $('[data-role="level-bar"]', panel);
    this.fields = Object.fromEntries([...panel.querySelectorAll('[data-stat]')].map((el) => [el.dataset.stat, el]));
    this.timer = null;
    phone.addEventListener('astral-state', (e) => this.onState(e.detail.state));
  }

  onState(state) {
    if (CALL_STATES.has(state)) {
      if (!this.timer) {
        for (const el of Object.values(this.fields)) el.textContent = '–';
        this.panel.dataset.live = '';
        this.poll();
        this.timer = setInterval(() => this.poll(), 1000);
      }
      this.setBadge(state === 'in-call' ? 'Live · every second' : 'Connecting call…');
    } else if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      delete this.panel.dataset.live;
      this.bar.style.width = '0%';
      this.setBadge('Call ended · last values');
    }
  }

  setBadge(text) {
    if (this.badge.textContent !== text) this.badge.textContent = text;
  }

  async poll() {
    let s;
    try {
      s = await this.phone.getStats();
    } catch {
      return; // no media session yet
    }
    if (!this.timer) return;
    const f = this.fields;
    f.packetsSent.textContent = numberFormat.format(s.packetsSent);
    f.packetsReceived.textContent = numberFormat.format(s.packetsReceived);
    f.audioLevel.textContent = s.audioLevel.toFixed(2);
    f.jitter.textContent = `${(s.jitter * 1000).toFixed(1)} ms`;
    // the RTT is measured every few seconds; between measurements keep showing the last one
    if (s.roundTripTime > 0) f.roundTripTime.textContent = `${(s.roundTripTime * 1000).toFixed(1)} ms`;
    f.packetsLost.textContent = numberFormat.format(s.packetsLost);
    // audioLevel is linear 0..1; a square root makes quiet speech visible on the bar
    this.bar.style.width = `${Math.min(100, Math.sqrt(s.audioLevel) * 100).toFixed(0)}%`;
  }
}

// ---------------------------------------------------------------------------------------------- phones

const phones = Object.fromEntries(PHONES.map((id) => [id, $(`#phone-${id}`)]));
const actions = [...document.querySelectorAll('.quick-actions .action')];
/** Alice's "Call the agent": only Alice needs to be ready for it. */
const agentAction = $('#alice-calls-agent');
const tryStatus = $('#try-status');

function updateActions() {
  const states = Object.fromEntries(PHONES.map((id) => [id, widgetLoaded ? phones[id].state : 'disconnected']));
  const bothReady = states.alice === 'ready' && states.bob === 'ready';
  for (const button of actions) button.disabled = !bothReady;
  agentAction.disabled = states.alice !== 'ready';
  let text;
  if (!widgetLoaded) return;
  if (bothReady) text = 'Both phones are ready: pick a button.';
  else if (BUSY_STATES.has(states.alice) && isAgent(phones.alice.client?.activeCall?.remote))
    text = 'Alice is on a call with the agent: ask it something, or hang up on her phone.';
  else if (PHONES.some((id) => BUSY_STATES.has(states[id]))) text = 'A call is in progress: hang up on either phone to end it.';
  else if (states.alice === 'ready') text = 'Alice is ready: she can call the agent; Bob is still signing in…';
  else text = 'Waiting for both phones to sign in…';
  if (tryStatus.textContent !== text) tryStatus.textContent = text;
}

if (widgetLoaded) {
  for (const id of PHONES) {
    const phone = phones[id];
    phone.server = location.origin;
    new StatsPanel(phone, $(`[data-stats-for="${id}"]`));
    new TokenKeeper(id, phone, $(`#token-${id}`)).refresh();
    for (const type of EVENTS) {
      phone.addEventListener(type, (e) => {
        log(phone.dataset.name, type, describe(type, e.detail), type === 'astral-error' ? 'error' : '');
        if (type === 'astral-state' || type === 'astral-call') updateActions();
      });
    }
  }
  for (const button of [...actions, agentAction]) {
    button.addEventListener('click', () => {
      const from = phones[button.dataset.from];
      const to = button.dataset.to;
      from.call(to).catch((err) => log(from.dataset.name, 'call()', `failed: ${err.code ?? 'error'}: ${err.message}`, 'error'));
    });
  }
  updateActions();
}

// ---------------------------------------------------------------------------------------------- embed snippet

for (const el of document.querySelectorAll('.origin')) el.textContent = location.origin;

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      // no clipboard access (e.g. plain http on another host): select the text instead
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = 'Selected';
    }
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
}
