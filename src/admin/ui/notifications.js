// Notifications (异步通知): send a signed notification to a notify_url, list them (polled
// while shown), and show one: the exact body sent, the string signed, every attempt.
import { api, el, field, select, showError } from './api.js';

const POLL_MS = 1500;
const EXAMPLE_PARAMS = {
  notify_type: 'trade_status_sync',
  out_trade_no: 'T1001',
  trade_status: 'TRADE_SUCCESS',
  total_amount: '88.88',
};
const ui = {};
let timer = null;
let openId = null;

export function mount(section) {
  const input = (name, props) => {
    ui[name] = el('input', { id: `notify-${name}`, name, 'data-testid': `notify-${name}`, ...props });
    return ui[name];
  };
  ui.params = el('textarea', { id: 'notify-params', rows: 6, 'data-testid': 'notify-params', spellcheck: false }, JSON.stringify(EXAMPLE_PARAMS, null, 2));
  ui.signType = select({ id: 'notify-sign-type', 'data-testid': 'notify-sign-type' }, [['RSA2'], ['RSA']]);
  ui.charset = select({ id: 'notify-charset', 'data-testid': 'notify-charset' }, [['utf-8'], ['GBK']]);
  ui.sent = el('p', { role: 'status', 'data-testid': 'notify-sent' });
  const form = el('form', { 'data-testid': 'notify-form', onsubmit: (e) => { e.preventDefault(); send().catch(showError); } },
    el('h3', {}, 'Send notification ', el('span', { lang: 'zh-CN' }, '发送异步通知')),
    el('div', { className: 'grid' },
      field('App (app_id)', input('app_id', { value: '2014072300007148', required: true })),
      field('notify_url (loopback or private network)', input('url', { type: 'url', placeholder: 'http://127.0.0.1:8080/alipay/notify', required: true })),
      field('Sign type', ui.signType), field('Charset', ui.charset),
      field('Delay (seconds on the gateway clock)', input('delay', { type: 'number', min: 0, value: 0 }))),
    field('Parameters (JSON object of strings)', ui.params),
    el('button', { type: 'submit', 'data-testid': 'notify-send' }, 'Send'), ui.sent);

  ui.filterApp = el('input', { id: 'notify-filter-app', placeholder: 'any', 'data-testid': 'notify-filter-app', oninput: () => refresh().catch(showError) });
  ui.filterState = select({ id: 'notify-filter-state', 'data-testid': 'notify-filter-state', onchange: () => refresh().catch(showError) },
    [['', 'any'], ['pending'], ['delivered'], ['failed']]);
  ui.count = el('p', { className: 'muted', role: 'status', 'data-testid': 'notify-count' });
  ui.body = el('tbody', { 'data-testid': 'notify-rows' });
  ui.detail = el('div', { 'data-testid': 'notify-detail', 'aria-live': 'polite' });
  section.append(form,
    el('h3', {}, 'Notifications'),
    el('div', { className: 'grid' }, field('App (app_id)', ui.filterApp), field('State', ui.filterState)),
    ui.count,
    el('div', { className: 'table-wrap' }, el('table', {},
      el('caption', { className: 'visually-hidden' }, 'Notifications, oldest first; Enter opens one'),
      el('thead', {}, el('tr', {}, ['Id (notify_id)', 'Made (UTC)', 'App', 'notify_url', 'State', 'Attempts', 'Next (gateway clock)'].map((h) => el('th', { scope: 'col' }, h)))),
      ui.body)),
    ui.detail);
}

async function send() {
  let params;
  try {
    params = JSON.parse(ui.params.value);
  } catch (e) {
    throw new Error(`Parameters: not JSON (${e.message})`);
  }
  const body = {
    app_id: ui.app_id.value.trim(),
    notify_url: ui.url.value.trim(),
    params,
    sign_type: ui.signType.value,
    charset: ui.charset.value,
    delay_seconds: Number(ui.delay.value || 0),
  };
  const created = await api('POST', 'notifications', body);
  ui.sent.textContent = `Made notification ${created.id} (${created.state}).`;
  openId = created.id;
  await refresh();
}

const time = (text) => (text ? text.replace('T', ' ').slice(0, 19) : '');

function row(n) {
  const open = () => { openId = n.id; showDetail().catch(showError); };
  return el('tr', {
    className: 'row-open', tabIndex: 0, 'data-testid': 'notify-row', 'data-id': n.id, 'data-state': n.state,
    'aria-label': `Notification ${n.id}: ${n.state}`,
    onclick: open, onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } },
  },
  el('td', {}, el('code', {}, n.id)), el('td', {}, time(n.created_at)), el('td', {}, n.app_id),
  el('td', {}, n.notify_url),
  el('td', {}, el('span', { className: `badge ${n.state === 'delivered' ? 'ok' : n.state === 'failed' ? 'bad' : ''}` }, n.state)),
  el('td', {}, String(n.attempts)), el('td', {}, time(n.next_attempt_at)));
}

async function showDetail() {
  if (!openId) return;
  let n;
  try {
    n = await api('GET', `notifications/${encodeURIComponent(openId)}`);
  } catch (e) {
    if (e.status === 404) { openId = null; ui.detail.replaceChildren(); return; }
    throw e;
  }
  const pre = (testid, text) => el('pre', { 'data-testid': testid, tabIndex: 0 }, text);
  const retry = el('button', { type: 'button', 'data-testid': 'notify-retry', onclick: () => api('POST', `notifications/${encodeURIComponent(n.id)}/retry`).then(refresh).catch(showError) }, 'Send again now');
  const remove = el('button', { type: 'button', 'data-testid': 'notify-delete', onclick: () => api('DELETE', `notifications/${encodeURIComponent(n.id)}`).then(() => { openId = null; return refresh(); }).catch(showError) }, 'Delete');
  ui.detail.replaceChildren(
    el('h3', {}, `Notification ${n.id}`),
    el('p', { 'data-testid': 'notify-detail-state' }, `${n.state} · ${n.sign_type}${n.cert_mode ? ' (certificate key)' : ''} · ${n.charset} · made ${time(n.created_at)} by ${n.source}${n.next_attempt_at ? ` · next attempt ${time(n.next_attempt_at)}` : ''}`),
    el('p', {}, retry, ' ', remove),
    el('h3', {}, 'Attempts'),
    el('div', { className: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['#', 'At (gateway clock, UTC)', 'HTTP status', 'Answer (first bytes)', 'Latency', 'Error', 'Verdict'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', { 'data-testid': 'notify-attempts' }, n.attempts.map((a) => el('tr', { 'data-testid': 'notify-attempt', 'data-verdict': a.verdict },
        el('td', {}, `${a.number}${a.manual ? ' (manual)' : ''}`), el('td', {}, time(a.at)), el('td', {}, a.status ?? ''),
        el('td', {}, el('code', {}, a.body ?? '')), el('td', {}, `${a.latency_ms} ms`), el('td', {}, a.error ?? ''),
        el('td', { className: a.verdict === 'delivered' ? 'ok' : 'bad' }, a.verdict)))))),
    el('h3', {}, 'Form body sent'), pre('notify-detail-body', n.body),
    el('h3', {}, 'String signed (every parameter but sign and sign_type, sorted)'), pre('notify-detail-sign-content', n.sign_content),
    el('h3', {}, 'Parameters'), pre('notify-detail-params', n.params.map(([k, v]) => `${k}=${v}`).join('\n')));
}

/** Fetches the list with the filters and redraws it, and the open notification. */
export async function refresh() {
  const query = new URLSearchParams();
  if (ui.filterApp.value.trim()) query.set('app_id', ui.filterApp.value.trim());
  if (ui.filterState.value) query.set('state', ui.filterState.value);
  const answer = await api('GET', `notifications${query.size ? `?${query}` : ''}`);
  ui.count.textContent = `${answer.notifications.length} notification(s).`;
  ui.body.replaceChildren(...answer.notifications.map(row));
  await showDetail();
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (ui.hidden) return;
  timer = setTimeout(() => refresh().catch(showError).finally(schedule), POLL_MS);
}

export function shown() { ui.hidden = false; schedule(); }
export function hidden() { ui.hidden = true; clearTimeout(timer); timer = null; }
