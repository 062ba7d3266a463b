// The operator dashboard: call stats and a weekly chart, live calls (hang up, blind/attended transfer), the call
// history with filters and pages, a call's recording, AI agent transcript and journey, and click-to-call.
// It holds no API key: every request goes to a same-origin proxy that adds one: /dashboard/api/v1/calls… with the
// session of an operator who logged in with their key (production; the key stays on the server), or, in development
// without a login, the demo proxy /demo/api/v1/calls…, which uses the server's own key and answers this machine only.

/** `/dashboard` (a login session) or `/demo` (the development demo proxy); chosen at start from /dashboard/session. */
let BASE = '/demo';
let API = `${BASE}/api/v1/calls`;
/** State-changing requests to /dashboard carry it (with the SameSite=Strict cookie, the server's CSRF defence). */
const CSRF_HEADER = { 'x-astral-dashboard': '1' };
let loggedOut = false;
const LIVE_EVERY_MS = 2000;
const PAGE_SIZES = [10, 20, 50];
const FILTERS = ['direction', 'disposition', 'from', 'to', 'date_from', 'date_to', 'search'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (selector, root = document) => root.querySelector(selector);

/** Creates an element: el('td', { className: 'num' }, 'text', child, …). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && !key.includes('-')) node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', timeZone: 'UTC' });
const longDayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', timeZone: 'UTC' });

/** Seconds as a clock: 0:05, 2:25, 1:02:05. */
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds in words: 45 s, 2 min 5 s, 1 h 2 min. */
function spoken(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
}

const when = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '–');
const dayOf = (ymd) => new Date(`${ymd}T00:00:00Z`);
const plural = (n, one, many = `${one}s`) => `${numberFormat.format(n)} ${n === 1 ? one : many}`;
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const titleCase = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1).toLowerCase() : s);

/** A status (ANSWERED, NO ANSWER, RINGING, answered, in progress…) as a badge with a tone. */
function badge(status) {
  const s = String(status ?? '').toLowerCase();
  let tone = 'neutral';
  if (s.startsWith('answered') || s === 'joined' || s === 'in progress') tone = 'ok';
  else if (s.startsWith('no answer') || s === 'busy' || s.startsWith('busy') || s === 'cancelled' || s === 'held') tone = 'warn';
  else if (s.startsWith('failed')) tone = 'bad';
  else if (s === 'ringing' || s === 'waiting' || s === 'blind' || s === 'attended') tone = 'info';
  return el('span', { className: 'badge', dataset: { tone } }, titleCase(String(status ?? '–')));
}

// ---------------------------------------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Parses an error answer: `{code, message}` from the REST API, `{status:'error', message}` from PBX actions. */
async function errorOf(res) {
  const body = await res.json().catch(() => null);
  const code = body?.code ?? (body?.status === 'error' ? 'error' : `http_${res.status}`);
  return new ApiError(body?.message || `the server answered ${res.status} ${res.statusText}`.trim(), code, res.status);
}

/** Calls the demo proxy; resolves to the JSON body (null for 204), rejects with an ApiError. */
async function api(path, { method = 'GET', query, body } = {}) {
  let url = API + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    if ([...params].length) url += `?${params}`;
  }
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' ? {} : CSRF_HEADER),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('could not reach the server', 'network', 0);
  }
  if (res.status === 401 && BASE === '/dashboard') showLogin('Your session has ended: log in again.');
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  // click-to-call and transfer report failures as {status:'error'}, whatever the HTTP status
  if (data && data.status === 'error') throw new ApiError(data.message || 'the action failed', 'error', res.status);
  return data;
}

// ---------------------------------------------------------------------------------------------- alerts and announcements

const alerts = $('#alerts');
const announcer = $('#announcer');

/** Shows a failure in the alert region; `key` replaces an earlier alert of the same origin instead of stacking. */
function showError(context, err, key = '') {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof ApiError && !['error', 'network'].includes(err.code) && !err.code.startsWith('http_') ? err.code : '';
  let item = key ? alerts.querySelector(`[data-key="${CSS.escape(key)}"]`) : null;
  const text = el('p', {}, el('strong', {}, `${context}: `), message, code ? ' ' : '', code ? el('code', {}, code) : '');
  if (item) {
    item.firstElementChild.replaceWith(text);
    return;
  }
  const dismiss = el('button', { type: 'button', className: 'small' }, 'Dismiss', el('span', { className: 'visually-hidden' }, ` this alert: ${context}`));
  item = el('div', { className: 'notice notice-error alert-item', dataset: key ? { key } : {} }, text, dismiss);
  dismiss.addEventListener('click', () => {
    const next = item.nextElementSibling?.querySelector('button') ?? item.previousElementSibling?.querySelector('button');
    item.remove();
    (next ?? $('#main')).focus();
  });
  alerts.append(item);
  while (alerts.children.length > 4) alerts.firstElementChild.remove();
}

function clearError(key) {
  alerts.querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
}

let announceTimer = null;
/** A short success message, visible for a few seconds and read out politely. */
function announce(text) {
  announcer.textContent = text;
  announcer.dataset.shown = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    delete announcer.dataset.shown;
    announcer.textContent = '';
  }, 5000);
}

// ---------------------------------------------------------------------------------------------- (1) stats and chart

const statFields = Object.fromEntries([...document.querySelectorAll('[data-stat]')].map((n) => [n.dataset.stat, n]));
const statSubs = Object.fromEntries([...document.querySelectorAll('[data-sub]')].map((n) => [n.dataset.sub, n]));
const chartBox = $('#chart-box');
const chartTable = $('#chart-table tbody');
let weekly = null;
let statsSeq = 0;

/** Internal calls per UTC day: /calls/stats' weekly has only inbound and outbound, so ask /calls/count for each day. */
async function internalPerDay(days) {
  const counts = await Promise.all(
    days.map((d) => api('/count', { query: { direction: 'internal', date_from: d.date, date_to: d.date } }).then((r) => r.count)),
  );
  return days.map((d, i) => ({ ...d, internal: counts[i] }));
}

async function loadStats() {
  const seq = ++statsSeq;
  let stats;
  try {
    stats = await api('/stats');
  } catch (err) {
    showError('Call stats', err, 'stats');
    $('#stats-updated').textContent = 'Could not load the stats.';
    return;
  }
  let days = stats.weekly.map((d) => ({ ...d, internal: null }));
  try {
    days = await internalPerDay(stats.weekly);
  } catch {
    // the chart still shows inbound and outbound
  }
  if (seq !== statsSeq) return;
  clearError('stats');
  const ended = stats.answered + stats.missed;
  const live = Math.max(0, stats.total_calls - ended);
  for (const key of ['total_calls', 'inbound', 'outbound', 'internal', 'answered', 'missed']) statFields[key].textContent = numberFormat.format(stats[key]);
  statFields.avg_duration.textContent = stats.answered ? spoken(stats.avg_duration) : '–';
  statSubs.total_calls.textContent = live ? `all time · ${numberFormat.format(live)} in progress` : 'all time';
  statSubs.answered.textContent = ended ? `${Math.round((stats.answered / ended) * 100)} % of ended calls` : 'no ended calls yet';
  statSubs.missed.textContent = ended ? `${Math.round((stats.missed / ended) * 100)} % of ended calls` : '';
  $('#stats-updated').textContent = `Updated ${timeFormat.format(new Date())}`;
  weekly = days;
  drawChart();
  fillChartTable();
}

/** A round axis maximum and its tick step for `max` (at least 4). */
function axis(max) {
  const target = Math.max(4, max);
  for (let magnitude = 1; ; magnitude *= 10) {
    for (const f of [1, 2, 5]) {
      const step = f * magnitude;
      if (step * 4 >= target) return { top: step * 4, step };
    }
  }
}

const SERIES = [
  { key: 'inbound', label: 'Inbound', cls: 'bar-in' },
  { key: 'outbound', label: 'Outbound', cls: 'bar-out' },
  { key: 'internal', label: 'Internal', cls: 'bar-int' },
];

function describeWeek(days, series) {
  const totals = series.map((s) => `${plural(days.reduce((n, d) => n + (d[s.key] ?? 0), 0), `${s.label.toLowerCase()} call`)}`);
  const busiest = days.reduce((best, d) => {
    const n = series.reduce((sum, s) => sum + (d[s.key] ?? 0), 0);
    return n > best.n ? { d, n } : best;
  }, { d: null, n: 0 });
  const start = longDayFormat.format(dayOf(days[0].date));
  const end = longDayFormat.format(dayOf(days[days.length - 1].date));
  return (
    `Bar chart of calls per day from ${start} to ${end} (UTC): ${totals.join(', ')}.` +
    (busiest.d ? ` Busiest day: ${longDayFormat.format(dayOf(busiest.d.date))} with ${plural(busiest.n, 'call')}.` : ' No calls in these days.') +
    ' The table that follows has the numbers for each day.'
  );
}

function drawChart() {
  if (!weekly) return;
  const days = weekly;
  const series = SERIES.filter((s) => s.key !== 'internal' || days.every((d) => d.internal !== null));
  const width = Math.max(280, Math.round(chartBox.clientWidth || 600));
  const height = width < 480 ? 200 : 240;
  const m = { top: 16, right: 8, bottom: 34, left: 34 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const max = Math.max(0, ...days.flatMap((d) => series.map((s) => d[s.key] ?? 0)));
  const { top, step } = axis(max);
  const y = (v) => m.top + plotH - (v / top) * plotH;
  const slot = plotW / days.length;
  const groupW = Math.min(slot * 0.72, 72);
  const barW = groupW / series.length;

  const chart = svg('svg', {
    class: 'chart-svg',
    width: String(width),
    height: String(height),
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-labelledby': 'chart-title chart-desc',
  });
  chart.append(svg('title', { id: 'chart-title' }, 'Calls per day, last 7 days'), svg('desc', { id: 'chart-desc' }, describeWeek(days, series)));

  const grid = svg('g', { class: 'chart-grid' });
  for (let v = 0; v <= top; v += step) {
    grid.append(
      svg('line', { x1: String(m.left), x2: String(width - m.right), y1: String(y(v)), y2: String(y(v)), class: v === 0 ? 'axis' : '' }),
      svg('text', { x: String(m.left - 6), y: String(y(v) + 4), 'text-anchor': 'end' }, numberFormat.format(v)),
    );
  }
  chart.append(grid);

  const today = new Date().toISOString().slice(0, 10);
  days.forEach((d, i) => {
    const g = svg('g', { class: 'chart-day' });
    const x0 = m.left + slot * i + (slot - groupW) / 2;
    series.forEach((s, j) => {
      const v = d[s.key] ?? 0;
      const x = x0 + barW * j;
      const h = Math.max(v ? 2 : 0, y(0) - y(v));
      const rect = svg('rect', { x: String(x + 1), y: String(y(0) - h), width: String(Math.max(1, barW - 2)), height: String(h), rx: '3', class: s.cls });
      rect.append(svg('title', {}, `${longDayFormat.format(dayOf(d.date))}: ${plural(v, `${s.label.toLowerCase()} call`)}`));
      g.append(rect);
      if (v) g.append(svg('text', { x: String(x + barW / 2), y: String(y(0) - h - 4), 'text-anchor': 'middle', class: 'bar-value' }, numberFormat.format(v)));
    });
    g.append(
      svg(
        'text',
        { x: String(m.left + slot * i + slot / 2), y: String(height - m.bottom + 18), 'text-anchor': 'middle', class: d.date === today ? 'day today' : 'day' },
        d.date === today ? 'Today' : dayFormat.format(dayOf(d.date)),
      ),
    );
    chart.append(g);
  });
  if (max === 0) {
    chart.append(svg('text', { x: String(m.left + plotW / 2), y: String(m.top + plotH / 2), 'text-anchor': 'middle', class: 'chart-empty' }, 'No calls in the last 7 days'));
  }
  chartBox.replaceChildren(chart);
}

function fillChartTable() {
  chartTable.replaceChildren(
    ...weekly.map((d) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, longDayFormat.format(dayOf(d.date))),
        el('td', {}, numberFormat.format(d.inbound)),
        el('td', {}, numberFormat.format(d.outbound)),
        el('td', {}, d.internal === null ? 'unknown' : numberFormat.format(d.internal)),
      ),
    ),
  );
}

let lastChartWidth = 0;
new ResizeObserver(() => {
  const w = Math.round(chartBox.clientWidth);
  if (Math.abs(w - lastChartWidth) < 4) return;
  lastChartWidth = w;
  drawChart();
}).observe(chartBox);

$('#stats-refresh').addEventListener('click', () => loadStats());

// ---------------------------------------------------------------------------------------------- (2) live calls

const liveBody = $('#live-body');
const liveEmpty = $('#live-empty');
const liveCount = $('#live-count');
const liveUpdated = $('#live-updated');
const liveDot = $('#live-dot');
const livePause = $('#live-pause');
/** channel_id → { tr, cells, data, actionsKey } */
const liveRows = new Map();
/** channel_id → destination of the attended transfer this leg started (to show Complete / Cancel). */
const consults = new Map();
let liveTimer = null;
let liveSignature = null;

/** The party of a leg from its channel id: WebRTC/1001-0000002a → 1001. */
const endpointOf = (channelId) => channelId.slice(channelId.indexOf('/') + 1).replace(/-[0-9a-f]{8}$/i, '');

function legParties(leg) {
  const me = endpointOf(leg.channel_id);
  const other = me === leg.from ? leg.to : me === leg.to ? leg.from : null;
  return { me, other, role: me === leg.from ? 'caller' : me === leg.to ? 'callee' : '' };
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function actionsFor(leg) {
  const id = leg.channel_id;
  const { me } = legParties(leg);
  const box = el('div', { className: 'row-actions' });
  if (consults.has(id)) {
    const dest = consults.get(id);
    box.append(
      el('span', { className: 'consulting' }, `Consulting ${dest}`),
      el('button', { type: 'button', className: 'small primary', dataset: { act: 'complete', channel: id } }, 'Complete', el('span', { className: 'visually-hidden' }, ` the transfer of ${me} to ${dest}`)),
      el('button', { type: 'button', className: 'small', dataset: { act: 'cancel', channel: id } }, 'Cancel', el('span', { className: 'visually-hidden' }, ` the transfer of ${me} to ${dest}`)),
    );
  } else {
    const transfer = el('button', { type: 'button', className: 'small', dataset: { act: 'transfer', channel: id } }, 'Transfer', el('span', { className: 'visually-hidden' }, ` ${id}`));
    if (leg.status !== 'answered') {
      transfer.disabled = true;
      transfer.title = 'Only an answered call can be transferred';
    }
    box.append(transfer);
  }
  box.append(el('button', { type: 'button', className: 'small danger', dataset: { act: 'hangup', channel: id } }, 'Hang up', el('span', { className: 'visually-hidden' }, ` ${id}`)));
  return box;
}

function createLiveRow(leg) {
  const cells = {
    channel: el('td', { className: 'mono' }),
    from: el('td', { className: 'mono' }),
    to: el('td', { className: 'mono' }),
    direction: el('td'),
    status: el('td'),
    duration: el('td', { className: 'num mono' }),
    actions: el('td', { className: 'actions-cell' }),
  };
  const tr = el('tr', { dataset: { channel: leg.channel_id } }, ...Object.values(cells));
  return { tr, cells, data: null, actionsKey: '' };
}

function updateLiveRow(row, leg) {
  const { cells } = row;
  const { role } = legParties(leg);
  if (!row.data) {
    cells.channel.replaceChildren(el('code', {}, leg.channel_id), role ? el('span', { className: 'leg-role' }, `${role} leg`) : '');
  }
  setText(cells.from, leg.from);
  setText(cells.to, leg.to);
  setText(cells.direction, titleCase(leg.direction));
  if (row.data?.status !== leg.status) cells.status.replaceChildren(badge(leg.status));
  setText(cells.duration, clock(leg.duration));
  const key = `${consults.has(leg.channel_id) ? `consult:${consults.get(leg.channel_id)}` : leg.status}`;
  if (row.actionsKey !== key) {
    const focusedAct = cells.actions.contains(document.activeElement) ? document.activeElement.dataset.act : null;
    cells.actions.replaceChildren(actionsFor(leg));
    row.actionsKey = key;
    if (focusedAct) {
      const same = cells.actions.querySelector(`[data-act="${focusedAct}"]:not(:disabled)`) ?? cells.actions.querySelector('button:not(:disabled)');
      same?.focus();
    }
  }
  row.data = leg;
}

function renderLive(legs) {
  const seen = new Set(legs.map((l) => l.channel_id));
  for (const [id, row] of liveRows) {
    if (seen.has(id)) continue;
    const hadFocus = row.tr.contains(document.activeElement);
    row.tr.remove();
    liveRows.delete(id);
    consults.delete(id);
    if (hadFocus) $('#live-heading').focus();
  }
  legs.forEach((leg, i) => {
    let row = liveRows.get(leg.channel_id);
    if (!row) {
      row = createLiveRow(leg);
      liveRows.set(leg.channel_id, row);
    }
    updateLiveRow(row, leg);
    // keep the server's order (oldest leg first) without moving rows that are already in place
    if (liveBody.children[i] !== row.tr) liveBody.insertBefore(row.tr, liveBody.children[i] ?? null);
  });
  liveEmpty.hidden = legs.length > 0;
  liveBody.closest('.table-wrap').hidden = legs.length === 0;
  setText(liveCount, String(legs.length));
  liveCount.dataset.active = legs.length ? 'yes' : 'no';
}

async function pollLive() {
  clearTimeout(liveTimer);
  let legs;
  try {
    legs = await api('/live');
    clearError('live');
    delete liveDot.dataset.state;
  } catch (err) {
    showError('Live calls', err, 'live');
    liveDot.dataset.state = 'error';
    setText(liveUpdated, 'Updates failing, retrying…');
    scheduleLive();
    return;
  }
  renderLive(legs);
  setText(liveUpdated, livePause.checked ? 'Paused' : `Every 2 s · ${timeFormat.format(new Date())}`);
  // a leg came or went (or was answered): the history, stats and an open live call's details have changed
  const signature = legs.map((l) => `${l.channel_id}:${l.status}`).join('|');
  if (liveSignature !== null && signature !== liveSignature) callsChanged();
  liveSignature = signature;
  // an open agent call in progress: its transcript grows turn by turn
  if (selected && !transcriptBox.hidden && isLiveStatus(selected.entry?.status ?? selected.journeyStatus)) loadTranscript(selected.id, { quiet: true });
  scheduleLive();
}

function scheduleLive() {
  clearTimeout(liveTimer);
  if (!livePause.checked && !loggedOut) liveTimer = setTimeout(pollLive, LIVE_EVERY_MS);
}

livePause.addEventListener('change', () => {
  if (livePause.checked) {
    clearTimeout(liveTimer);
    liveDot.dataset.state = 'paused';
    setText(liveUpdated, 'Paused');
  } else {
    delete liveDot.dataset.state;
    pollLive();
  }
});

let changedTimer = null;
/** Calls started, were answered or ended: refresh what depends on them (the call record settles just after the leg). */
function callsChanged() {
  clearTimeout(changedTimer);
  changedTimer = setTimeout(() => {
    loadStats();
    loadHistory({ quiet: true });
    if (selected && isLiveStatus(selected.entry?.status ?? selected.journeyStatus)) loadJourney(selected.id, { quiet: true });
  }, 800);
}

async function control(button, path, body, context) {
  // aria-disabled rather than disabled: a disabled button drops the keyboard focus
  button.setAttribute('aria-disabled', 'true');
  button.setAttribute('aria-busy', 'true');
  try {
    const res = await api(path, { method: 'POST', body });
    announce(res?.message ?? 'Done');
    return res;
  } catch (err) {
    showError(context, err);
    throw err;
  } finally {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}

liveBody.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-act]');
  if (!button || button.getAttribute('aria-disabled') === 'true') return;
  const id = button.dataset.channel;
  const leg = liveRows.get(id)?.data;
  try {
    switch (button.dataset.act) {
      case 'hangup':
        await control(button, '/hangup-channel', { channel_id: id, reason: 'normal' }, `Hang up ${id}`);
        break;
      case 'transfer':
        if (leg) openTransfer(leg);
        return;
      case 'complete':
        await control(button, '/transfer/complete', { call_id: id }, `Complete the transfer on ${id}`).catch((err) => {
          if (err.code === 'invalid_state' || err.code === 'not_found') consults.delete(id);
          throw err;
        });
        consults.delete(id);
        break;
      case 'cancel':
        await control(button, '/transfer/cancel', { call_id: id }, `Cancel the transfer on ${id}`).catch((err) => {
          if (err.code === 'invalid_state' || err.code === 'not_found') consults.delete(id);
          throw err;
        });
        consults.delete(id);
        break;
    }
  } catch {
    // shown in the alert region
  }
  await pollLive();
});

// ---------------------------------------------------------------------------------------------- transfer dialog

const transferDialog = $('#transfer-dialog');
const transferForm = $('#transfer-form');
const transferDestination = $('#transfer-destination');
const transferError = $('#transfer-error');
let transferLeg = null;

function openTransfer(leg) {
  transferLeg = leg;
  const { me, other } = legParties(leg);
  const them = other ?? 'the other party';
  $('#transfer-heading').textContent = `Transfer ${leg.channel_id}`;
  $('#transfer-help').textContent = `${me} is talking to ${them}. Whom should ${them} be transferred to?`;
  $('#transfer-blind-hint').textContent = `${cap(them)} goes straight to the destination; ${me} leaves the call.`;
  $('#transfer-attended-hint').textContent = `${cap(them)} waits on hold while ${me} talks to the destination; then complete the transfer (${me} leaves) or cancel it.`;
  transferError.textContent = '';
  transferDestination.removeAttribute('aria-invalid');
  transferDialog.showModal();
  transferDestination.focus();
}

$('#transfer-cancel').addEventListener('click', () => transferDialog.close());

transferForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const destination = transferDestination.value.trim();
  const type = new FormData(transferForm).get('type');
  if (!destination || !transferDestination.checkValidity()) {
    transferDestination.setAttribute('aria-invalid', 'true');
    transferError.textContent = 'Enter a destination: an extension or user (letters, digits and _ . @ + * # -).';
    transferDestination.focus();
    return;
  }
  transferDestination.removeAttribute('aria-invalid');
  const submit = $('#transfer-submit');
  submit.disabled = true;
  transferError.textContent = '';
  const id = transferLeg.channel_id;
  try {
    const res = await api('/transfer', { method: 'POST', body: { call_id: id, destination, type } });
    if (type === 'attended') consults.set(id, destination);
    transferDialog.close();
    announce(res?.message ?? 'Transfer started');
    await pollLive();
    liveRows.get(id)?.cells.actions.querySelector('button:not(:disabled)')?.focus();
  } catch (err) {
    transferError.textContent = `The transfer failed: ${err.message}`;
  } finally {
    submit.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------- (3) call history

const historyBody = $('#history-body');
const filtersForm = $('#filters');
const pageSize = $('#page-size');
const pagePrev = $('#page-prev');
const pageNext = $('#page-next');
const pageText = $('#page-text');
const historySummary = $('#history-summary');
/** The current page's calls, by id. */
const entries = new Map();
const view = { filters: Object.fromEntries(FILTERS.map((f) => [f, ''])), page: 1, size: 20, pages: 0, total: 0 };
let historySeq = 0;

const isLiveStatus = (status) => ['RINGING', 'IN PROGRESS', 'in progress'].includes(status ?? '');

/** A local calendar day as an ISO date-time with this browser's UTC offset (the API reads bare dates as UTC days). */
function localDayBound(ymd, end) {
  const [y, mo, d] = ymd.split('-').map(Number);
  const at = end ? new Date(y, mo - 1, d, 23, 59, 59) : new Date(y, mo - 1, d, 0, 0, 0);
  const offset = -at.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${ymd}T${end ? '23:59:59' : '00:00:00'}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function readFilters() {
  const data = new FormData(filtersForm);
  for (const f of FILTERS) view.filters[f] = String(data.get(f) ?? '').trim();
}

function writeFilters() {
  for (const f of FILTERS) filtersForm.elements[f].value = view.filters[f];
}

/** Filters, page, page size and the open call live in the address, so a reload (or a shared link) shows the same view. */
function saveToUrl() {
  const params = new URLSearchParams();
  for (const f of FILTERS) if (view.filters[f]) params.set(f, view.filters[f]);
  if (view.page > 1) params.set('page', String(view.page));
  if (view.size !== 20) params.set('size', String(view.size));
  if (selected) params.set('call', selected.id);
  const query = params.toString();
  window.history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
}

function loadFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const f of FILTERS) view.filters[f] = params.get(f) ?? '';
  const size = Number(params.get('size'));
  view.size = PAGE_SIZES.includes(size) ? size : 20;
  view.page = Math.max(1, Math.floor(Number(params.get('page'))) || 1);
  pageSize.value = String(view.size);
  writeFilters();
  return params.get('call');
}

function historyQuery() {
  const f = view.filters;
  return {
    limit: view.size,
    offset: (view.page - 1) * view.size,
    direction: f.direction,
    disposition: f.disposition,
    from: f.from,
    to: f.to,
    search: f.search,
    date_from: f.date_from ? localDayBound(f.date_from, false) : '',
    date_to: f.date_to ? localDayBound(f.date_to, true) : '',
  };
}

function historyRow(entry) {
  const open = el(
    'button',
    { type: 'button', className: 'row-link', dataset: { open: entry.id }, 'aria-controls': 'details', title: fullFormat.format(new Date(entry.started_at)) },
    el('span', { className: 'visually-hidden' }, `Call ${entry.id}, started `),
    when(entry.started_at),
  );
  const rec = entry.recording_url
    ? el('span', { className: 'rec-dot', title: 'Has a recording' }, el('span', { 'aria-hidden': 'true' }, '●'), el('span', { className: 'visually-hidden' }, 'Yes'))
    : el('span', { className: 'muted' }, el('span', { 'aria-hidden': 'true' }, '–'), el('span', { className: 'visually-hidden' }, 'No'));
  const live = isLiveStatus(entry.status);
  return el(
    'tr',
    { dataset: { id: entry.id }, 'aria-current': selected?.id === entry.id ? 'true' : null },
    el('td', {}, open),
    el('td', { className: 'mono' }, entry.from_number),
    el('td', { className: 'mono' }, entry.to_number),
    el('td', {}, titleCase(entry.direction)),
    el('td', {}, badge(entry.status)),
    el('td', { className: 'num mono' }, live ? '…' : clock(entry.duration)),
    el('td', { className: 'num mono' }, live ? '…' : clock(entry.talk_time)),
    el('td', { className: 'center' }, rec),
  );
}

async function loadHistory({ quiet = false } = {}) {
  const seq = ++historySeq;
  if (!quiet) historyBody.closest('.table-wrap').dataset.loading = '';
  let data;
  try {
    data = await api('', { query: historyQuery() });
  } catch (err) {
    if (seq !== historySeq) return;
    delete historyBody.closest('.table-wrap').dataset.loading;
    showError('Call history', err, 'history');
    return;
  }
  if (seq !== historySeq) return;
  // past the last page (calls were filtered away): go to the last one
  if (data.pages > 0 && view.page > data.pages) {
    view.page = data.pages;
    return loadHistory({ quiet });
  }
  clearError('history');
  delete historyBody.closest('.table-wrap').dataset.loading;
  view.pages = data.pages;
  view.total = data.total;
  const focusedId = historyBody.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.id : null;
  entries.clear();
  for (const entry of data.data) entries.set(entry.id, entry);
  historyBody.replaceChildren(...data.data.map(historyRow));
  if (focusedId) historyBody.querySelector(`tr[data-id="${CSS.escape(focusedId)}"] .row-link`)?.focus();
  $('#history-empty').hidden = data.data.length > 0;

  const first = data.total ? (view.page - 1) * view.size + 1 : 0;
  const last = Math.min(data.total, view.page * view.size);
  const filtered = FILTERS.some((f) => view.filters[f]);
  historySummary.textContent = data.total
    ? `${numberFormat.format(first)}–${numberFormat.format(last)} of ${plural(data.total, filtered ? 'matching call' : 'call')}`
    : filtered
      ? 'No matching calls'
      : 'No calls yet';
  pageText.textContent = `Page ${numberFormat.format(data.total ? data.page : 1)} of ${numberFormat.format(Math.max(1, data.pages))}`;
  pagePrev.disabled = view.page <= 1;
  pageNext.disabled = view.page >= data.pages;
  // the open call's row may have changed (ended, recording deleted)
  if (selected && entries.has(selected.id)) {
    const before = selected.entry;
    const now = entries.get(selected.id);
    selected.entry = now;
    if (before && (before.status !== now.status || before.ended_at !== now.ended_at)) {
      renderFacts();
      if (isLiveStatus(before.status) && !isLiveStatus(now.status)) loadDetails(selected.id, { quiet: true }); // it just ended
    } else if (before && before.recording_url !== now.recording_url && !now.recording_url) loadRecording(selected.id);
  }
  saveToUrl();
}

function applyFilters() {
  readFilters();
  const { date_from: a, date_to: b } = view.filters;
  if (a && b && a > b) {
    showError('Filters', new Error('the start date is after the end date'), 'filters');
    return;
  }
  clearError('filters');
  view.page = 1;
  loadHistory();
}

let filterTimer = null;
filtersForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearTimeout(filterTimer);
  applyFilters();
});
filtersForm.addEventListener('change', (event) => {
  if (event.target.matches('select, input[type="date"]')) applyFilters();
});
filtersForm.addEventListener('input', (event) => {
  if (!event.target.matches('input[type="search"], input:not([type])')) return;
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilters, 400);
});
filtersForm.addEventListener('reset', () => setTimeout(applyFilters));

pagePrev.addEventListener('click', () => {
  if (view.page <= 1) return;
  view.page -= 1;
  loadHistory();
});
pageNext.addEventListener('click', () => {
  if (view.page >= view.pages) return;
  view.page += 1;
  loadHistory();
});
pageSize.addEventListener('change', () => {
  view.size = Number(pageSize.value);
  view.page = 1;
  loadHistory();
});
$('#history-refresh').addEventListener('click', () => {
  loadHistory();
  loadStats();
});

// A click anywhere on a row opens it; the start-time button is the keyboard way in.
historyBody.addEventListener('click', (event) => {
  const tr = event.target.closest('tr[data-id]');
  if (!tr) return;
  if (getSelection().toString() && !event.target.closest('button')) return; // the user is selecting text
  openDetails(tr.dataset.id, { focus: Boolean(event.target.closest('button')) || event.detail === 0 });
});

// ---------------------------------------------------------------------------------------------- (4, 5) details: recording and journey

const details = $('#details');
const facts = $('#details-facts');
const audio = $('#audio');
const player = $('#player');
const recordingNote = $('#recording-note');
const download = $('#recording-download');
const timeline = $('#timeline');
const journeySummary = $('#journey-summary');
/** The open call: { id, entry (its history row, when known), journey, journeyStatus }. */
let selected = null;
let blobUrl = null;
let recordingSeq = 0;
let journeySeq = 0;

function markSelectedRow() {
  for (const tr of historyBody.querySelectorAll('tr')) {
    if (selected && tr.dataset.id === selected.id) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
}

function openDetails(id, { focus = true } = {}) {
  if (selected?.id !== id) selected = { id, entry: entries.get(id) ?? null, journey: null, journeyStatus: null };
  details.hidden = false;
  document.body.classList.add('details-open');
  markSelectedRow();
  saveToUrl();
  loadDetails(id);
  if (focus) $('#details-heading').focus();
  else if (matchMedia('(max-width: 1099px)').matches) details.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function closeDetails() {
  const id = selected?.id;
  selected = null;
  details.hidden = true;
  document.body.classList.remove('details-open');
  releaseRecording();
  hideTranscript();
  markSelectedRow();
  saveToUrl();
  const button = id && historyBody.querySelector(`tr[data-id="${CSS.escape(id)}"] .row-link`);
  (button || $('#history-heading')).focus?.();
}

$('#details-close').addEventListener('click', closeDetails);
details.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !event.defaultPrevented) {
    event.preventDefault();
    closeDetails();
  }
});

function loadDetails(id, { quiet = false } = {}) {
  renderFacts();
  return Promise.all([loadJourney(id, { quiet }), loadRecording(id), loadTranscript(id, { quiet })]);
}

function fact(term, ...value) {
  return el('div', {}, el('dt', {}, term), el('dd', {}, ...value));
}

function renderFacts() {
  if (!selected) return;
  const { entry, journey } = selected;
  $('#details-heading').textContent = `Call ${selected.id}`;
  const from = entry?.from_number ?? journey?.caller;
  const to = entry?.to_number ?? journey?.destination;
  const status = entry?.status ?? journey?.status;
  const live = isLiveStatus(status);
  const items = [
    fact('From → to', el('span', { className: 'mono' }, from ?? '…'), el('span', { 'aria-hidden': 'true' }, ' → '), el('span', { className: 'visually-hidden' }, ' to '), el('span', { className: 'mono' }, to ?? '…')),
    fact('Status', status ? badge(status) : '…'),
  ];
  if (entry) {
    items.push(fact('Direction', titleCase(entry.direction)));
    items.push(fact('Started', el('time', { dateTime: entry.started_at, title: fullFormat.format(new Date(entry.started_at)) }, when(entry.started_at))));
    items.push(fact('Ended', entry.ended_at ? el('time', { dateTime: entry.ended_at, title: fullFormat.format(new Date(entry.ended_at)) }, when(entry.ended_at)) : 'in progress'));
    if (!live) items.push(fact('Duration', clock(entry.duration)), fact('Talk time', clock(entry.talk_time)));
  } else if (journey) {
    items.push(fact('Duration', clock(journey.total_duration)));
  }
  if (journey) items.push(fact('Answered by', journey.answered_by ? el('span', { className: 'mono' }, journey.answered_by) : 'nobody'));
  facts.replaceChildren(...items);
}

function releaseRecording() {
  recordingSeq++;
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  if (blobUrl) URL.revokeObjectURL(blobUrl);
  blobUrl = null;
  download.removeAttribute('href');
}

async function loadRecording(id) {
  const entry = selected?.entry;
  releaseRecording();
  const seq = recordingSeq;
  player.hidden = true;
  if (entry && isLiveStatus(entry.status)) {
    recordingNote.textContent = 'The call is still in progress: its recording is ready when it ends.';
    return;
  }
  if (entry && !entry.recording_url) {
    recordingNote.textContent = 'No recording for this call.';
    return;
  }
  recordingNote.textContent = 'Loading the recording…';
  let res;
  try {
    res = await fetch(entry?.recording_url ? `${BASE}${entry.recording_url}` : `${API}/${encodeURIComponent(id)}/recording`);
  } catch {
    if (seq !== recordingSeq) return;
    recordingNote.textContent = 'Could not load the recording.';
    showError('Recording', new ApiError('could not reach the server', 'network', 0), 'recording');
    return;
  }
  if (seq !== recordingSeq) return;
  if (res.status === 404) {
    recordingNote.textContent = 'No recording for this call.';
    return;
  }
  if (!res.ok) {
    recordingNote.textContent = 'Could not load the recording.';
    showError(`Recording of call ${id}`, await errorOf(res), 'recording');
    return;
  }
  const blob = await res.blob();
  if (seq !== recordingSeq) return;
  clearError('recording');
  blobUrl = URL.createObjectURL(blob);
  audio.src = blobUrl;
  download.href = blobUrl;
  download.download = `call-${id}.wav`;
  player.hidden = false;
  recordingNote.textContent = `Both parties, mixed · ${(blob.size / 1024).toFixed(0)} KB WAV`;
}

audio.addEventListener('loadedmetadata', () => {
  if (Number.isFinite(audio.duration) && blobUrl) recordingNote.textContent = `Both parties, mixed · ${clock(Math.floor(audio.duration))} · ${recordingNote.textContent.split('·').pop().trim()}`;
});
audio.addEventListener('error', () => {
  if (blobUrl) recordingNote.textContent = 'This browser could not play the recording; download it instead.';
});

$('#recording-delete').addEventListener('click', async (event) => {
  if (!selected) return;
  const id = selected.id;
  if (!confirm(`Delete the recording of call ${id}? This cannot be undone.`)) return;
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api(`/${encodeURIComponent(id)}/recording`, { method: 'DELETE' });
  } catch (err) {
    showError(`Delete the recording of call ${id}`, err);
    button.disabled = false;
    return;
  }
  button.disabled = false;
  releaseRecording();
  player.hidden = true;
  recordingNote.textContent = 'Recording deleted.';
  recordingNote.focus();
  announce(`The recording of call ${id} was deleted`);
  if (selected?.entry) selected.entry = { ...selected.entry, recording_url: null };
  loadHistory({ quiet: true });
});

// ---------------------------------------------------------------------------------------------- (4b) details: the AI agent's transcript

const transcriptBox = $('#transcript');
const turnsList = $('#turns');
const transcriptSummary = $('#transcript-summary');
const providerBox = $('#provider-transcript');
const providerText = $('#provider-transcript-text');
let transcriptSeq = 0;
/** What the turn list shows, so a refresh that brings nothing new leaves it alone. */
let turnsSignature = '';

/** No agent on the open call (or no open call): the section goes away. */
function hideTranscript() {
  transcriptSeq++;
  transcriptBox.hidden = true;
  turnsList.replaceChildren();
  turnsSignature = '';
  transcriptSummary.textContent = '';
  providerBox.hidden = true;
  providerText.textContent = '';
  clearError('transcript');
}

/** Seconds since the call started, as +0:07 (empty when the start is unknown). */
function sinceStart(iso) {
  const started = selected?.entry?.started_at;
  if (!started) return '';
  return `+${clock((Date.parse(iso) - Date.parse(started)) / 1000)}`;
}

function turnItem(turn, agent) {
  const at = new Date(turn.at);
  const offset = sinceStart(turn.at);
  const who = turn.role === 'agent' ? el('span', {}, 'Agent ', el('span', { className: 'mono' }, agent)) : 'Caller';
  return el(
    'li',
    { className: 'turn', dataset: { role: turn.role } },
    el(
      'p',
      { className: 'turn-head' },
      el('strong', { className: 'turn-who' }, who),
      el(
        'time',
        { className: 'turn-time', dateTime: turn.at, title: fullFormat.format(at) },
        timeFormat.format(at),
        offset ? el('span', { className: 'turn-offset' }, ` · ${offset}`) : null,
      ),
    ),
    el('p', { className: 'turn-text' }, turn.text),
  );
}

/** GET /calls/:id/transcript: the turns of the call's AI agent and its caller; a 404 means no agent was on the call. */
async function loadTranscript(id, { quiet = false } = {}) {
  const seq = ++transcriptSeq;
  if (!quiet) {
    transcriptBox.hidden = true;
    turnsList.replaceChildren();
    turnsSignature = '';
  }
  let res;
  try {
    res = await fetch(`${API}/${encodeURIComponent(id)}/transcript`, { headers: { accept: 'application/json' } });
  } catch {
    if (seq !== transcriptSeq) return;
    if (!transcriptBox.hidden) showError(`Transcript of call ${id}`, new ApiError('could not reach the server', 'network', 0), 'transcript');
    return;
  }
  if (seq !== transcriptSeq || selected?.id !== id) return;
  if (res.status === 404) {
    // the usual case: no AI agent took part in this call
    hideTranscript();
    return;
  }
  if (!res.ok) {
    showError(`Transcript of call ${id}`, await errorOf(res), 'transcript');
    return;
  }
  const data = await res.json().catch(() => null);
  if (seq !== transcriptSeq || selected?.id !== id) return;
  if (!data || !Array.isArray(data.turns)) {
    showError(`Transcript of call ${id}`, new ApiError('the server sent an unreadable transcript', 'error', res.status), 'transcript');
    return;
  }
  clearError('transcript');
  const turns = data.turns;
  const live = isLiveStatus(selected.entry?.status ?? selected.journeyStatus);
  const byAgent = turns.filter((t) => t.role === 'agent').length;
  const provider = typeof data.provider_transcript === 'string' ? data.provider_transcript.trim() : '';
  setText(
    transcriptSummary,
    turns.length
      ? `With agent ${data.agent} · ${plural(turns.length, 'turn')} (${numberFormat.format(byAgent)} by the agent, ${numberFormat.format(turns.length - byAgent)} by the caller)${live ? ' so far' : ''}`
      : `With agent ${data.agent} · ${provider ? 'no turns of its own; its provider sent the transcript below' : live ? 'nothing said yet' : 'nothing was said'}`,
  );
  // re-rendered only when it changed (a live call's transcript is fetched every 2 s): the list keeps its scroll position
  const signature = JSON.stringify([data.agent, selected.entry?.started_at, turns]);
  if (turnsSignature !== signature) {
    turnsList.replaceChildren(...turns.map((turn) => turnItem(turn, data.agent)));
    turnsSignature = signature;
  }
  providerText.textContent = provider;
  providerBox.hidden = !provider;
  transcriptBox.hidden = false;
}

$('#transcript-refresh').addEventListener('click', () => selected && loadTranscript(selected.id, { quiet: true }));

// ---------------------------------------------------------------------------------------------- (5) details: the journey

async function loadJourney(id, { quiet = false } = {}) {
  const seq = ++journeySeq;
  if (!quiet) {
    journeySummary.textContent = 'Loading the journey…';
    timeline.replaceChildren();
  }
  let journey;
  try {
    journey = await api(`/${encodeURIComponent(id)}/journey`);
  } catch (err) {
    if (seq !== journeySeq) return;
    journeySummary.textContent = 'Could not load the journey.';
    showError(`Journey of call ${id}`, err, 'journey');
    return;
  }
  if (seq !== journeySeq || selected?.id !== id) return;
  clearError('journey');
  selected.journey = journey;
  selected.journeyStatus = journey.status;
  renderFacts();
  journeySummary.textContent =
    `${journey.caller} → ${journey.destination} · ${journey.status} · ${spoken(journey.total_duration)} in all` +
    (journey.answered_by ? ` · answered by ${journey.answered_by}` : '') +
    ` · ${plural(journey.steps.length, 'step')}`;
  timeline.replaceChildren(
    ...journey.steps.map((step, i) =>
      el(
        'li',
        { className: 'step', dataset: { action: step.action.toLowerCase(), last: i === journey.steps.length - 1 ? 'yes' : 'no' } },
        el('time', { className: 'step-time', dateTime: step.time, title: fullFormat.format(new Date(step.time)) }, timeFormat.format(new Date(step.time))),
        el(
          'div',
          { className: 'step-body' },
          el('p', { className: 'step-head' }, el('strong', { className: 'step-action' }, step.action), badge(step.status)),
          el(
            'p',
            { className: 'step-parties mono' },
            step.from,
            el('span', { 'aria-hidden': 'true' }, ' → '),
            el('span', { className: 'visually-hidden' }, ' to '),
            step.to,
          ),
          el('p', { className: 'step-duration' }, step.action === 'Hangup' ? 'call ended' : `${spoken(step.duration)}${i === journey.steps.length - 1 && journey.status === 'in progress' ? ' so far' : ''}`),
        ),
      ),
    ),
  );
  if (!journey.steps.length) journeySummary.textContent += ' (nothing recorded yet)';
}

$('#journey-refresh').addEventListener('click', () => selected && loadJourney(selected.id));

// ---------------------------------------------------------------------------------------------- (6) click-to-call

const c2cForm = $('#c2c-form');
const c2cResult = $('#c2c-result');

c2cForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = ['from', 'to'].map((name) => c2cForm.elements[name]);
  let firstBad = null;
  for (const input of fields) {
    input.value = input.value.trim();
    const ok = input.value !== '' && input.checkValidity();
    if (ok) input.removeAttribute('aria-invalid');
    else {
      input.setAttribute('aria-invalid', 'true');
      firstBad ??= input;
    }
  }
  if (firstBad) {
    c2cResult.dataset.tone = 'error';
    c2cResult.textContent = 'Enter both numbers: an extension or user (letters, digits and _ . @ + * # -).';
    firstBad.focus();
    return;
  }
  const [from, to] = fields.map((f) => f.value);
  const submit = $('#c2c-submit');
  submit.disabled = true;
  c2cResult.textContent = '';
  delete c2cResult.dataset.tone;
  try {
    const res = await api('/click-to-call', { method: 'POST', body: { from, to } });
    c2cResult.dataset.tone = 'ok';
    c2cResult.textContent = `${res?.message ?? 'Call initiated'}: ringing ${from}; ${to} rings once ${from} answers.`;
    pollLive();
  } catch (err) {
    c2cResult.dataset.tone = 'error';
    c2cResult.textContent = `Not placed: ${err.message}`;
    showError('Click-to-call', err, 'c2c');
  } finally {
    submit.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------- login

const loginBox = $('#login');
const loginForm = $('#login-form');
const loginKey = $('#login-key');
const loginResult = $('#login-result');
const logoutButton = $('#logout');

/** Hides the dashboard and asks for an API key (no session, or it ended: expired, logged out elsewhere, key revoked). */
function showLogin(message = '') {
  loggedOut = true;
  clearTimeout(liveTimer);
  $('#main').hidden = true;
  logoutButton.hidden = true;
  loginBox.hidden = false;
  loginResult.textContent = message;
  if (message) loginResult.dataset.tone = 'error';
  loginKey.focus();
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const apiKey = loginKey.value.trim();
  if (!apiKey) {
    loginResult.dataset.tone = 'error';
    loginResult.textContent = 'Enter an API key.';
    loginKey.focus();
    return;
  }
  $('#login-submit').disabled = true;
  loginResult.textContent = '';
  try {
    const res = await fetch('/dashboard/login', {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', ...CSRF_HEADER },
      body: JSON.stringify({ api_key: apiKey }),
    });
    if (!res.ok) throw await errorOf(res);
    loginKey.value = '';
    // Start over with the session: every panel loads through /dashboard/api.
    location.reload();
  } catch (err) {
    loginResult.dataset.tone = 'error';
    loginResult.textContent = err.status === 401 ? 'That API key is not valid (or was revoked).' : `Could not log in: ${err.message}`;
    loginKey.select();
  } finally {
    $('#login-submit').disabled = false;
  }
});

logoutButton.addEventListener('click', async () => {
  await fetch('/dashboard/logout', { method: 'POST', headers: CSRF_HEADER }).catch(() => null);
  location.reload();
});

// ---------------------------------------------------------------------------------------------- start

async function start() {
  // Which proxy to use: the login session when there is one; else the demo proxy in development; else the login form.
  const session = await fetch('/dashboard/session', { headers: { accept: 'application/json' } })
    .then((res) => (res.ok ? res.json() : null))
    .catch(() => null);
  if (session?.authenticated || session?.demo === false) {
    BASE = '/dashboard';
    API = `${BASE}/api/v1/calls`;
  }
  if (session && !session.authenticated && !session.demo) {
    showLogin();
    return;
  }
  logoutButton.hidden = !session?.authenticated;
  const callFromUrl = loadFromUrl();
  loadStats();
  loadHistory().then(() => {
    if (callFromUrl && /^[0-9]{1,20}$/.test(callFromUrl)) openDetails(callFromUrl, { focus: false });
  });
  pollLive();
}

start();
