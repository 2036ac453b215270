// Journal (请求日志): the gateway's request journal, newest first, polled while shown.
import { api, el, field, showError } from './api.js';
import { copyAsDoctor } from './doctor.js';

const POLL_MS = 1500;
const ui = {};
let timer = null;
let entries = [];
let openId = null;

export function mount(section) {
  const filter = (name, label, placeholder) => {
    const control = el('input', { id: `journal-${name}`, name, placeholder, 'data-testid': `journal-filter-${name}`, oninput: () => refresh().catch(showError) });
    ui[name] = control;
    return field(label, control);
  };
  ui.live = el('input', { type: 'checkbox', id: 'journal-live', checked: true, 'data-testid': 'journal-live', onchange: schedule });
  ui.count = el('p', { className: 'muted', role: 'status', 'data-testid': 'journal-count' });
  ui.body = el('tbody', { 'data-testid': 'journal-rows' });
  ui.detail = el('div', { 'data-testid': 'journal-detail', 'aria-live': 'polite' });
  section.append(
    el('div', { className: 'grid' },
      filter('app_id', 'App (app_id)', 'any'), filter('method', 'Method', 'any'),
      filter('outcome', 'Outcome (code or sub_code)', 'e.g. isv.invalid-signature')),
    el('label', { className: 'inline', for: 'journal-live' }, ui.live, 'Live (polls every 1.5 s)'),
    ui.count,
    el('div', { className: 'table-wrap' }, el('table', {},
      el('caption', { className: 'visually-hidden' }, 'Gateway calls, newest first; Enter opens one'),
      el('thead', {}, el('tr', {}, ['#', 'Time (UTC)', 'App', 'Method', 'Code', 'Signature', 'Latency', 'Faults'].map((h) => el('th', { scope: 'col' }, h)))),
      ui.body)),
    ui.detail);
}

function verdictText(verified) {
  if (verified === true) return 'verified';
  if (verified === false) return 'failed';
  return 'not checked';
}

function row(entry) {
  const open = () => { openId = entry.id; showDetail(entry); };
  const verdict = verdictText(entry.signature?.verified);
  return el('tr', {
    className: 'row-open', tabIndex: 0, 'data-testid': 'journal-row', 'data-id': entry.id,
    'aria-label': `Call ${entry.id}: ${entry.method ?? 'no method'} ${entry.outcome.code}`,
    onclick: open, onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } },
  },
  el('td', {}, entry.id), el('td', {}, entry.time.replace('T', ' ').slice(0, 19)),
  el('td', {}, entry.app_id ?? ''), el('td', {}, entry.method ?? ''),
  el('td', {}, el('span', { className: `badge ${entry.outcome.code === '10000' ? 'ok' : 'bad'}` },
    [entry.outcome.code, entry.outcome.sub_code].filter(Boolean).join(' '))),
  el('td', { className: verdict === 'verified' ? 'ok' : verdict === 'failed' ? 'bad' : 'muted' }, verdict),
  el('td', {}, `${entry.latency_ms.toFixed(1)} ms`), el('td', {}, (entry.faults || []).join(', ')));
}

function explanation(entry) {
  const v = entry.signature?.verified;
  if (v === true) return 'Signature verified: the app signed exactly this string with the key registered for its sign type.';
  if (v === false) return 'Signature did not verify over this string with the app\'s registered public key (40002 isv.invalid-signature).';
  return 'Not checked: the request was refused before the signature check (see the answer codes).';
}

function showDetail(entry) {
  const pre = (testid, text) => el('pre', { 'data-testid': testid, tabIndex: 0 }, text);
  const d = entry.diagnosis;
  ui.detail.dataset.id = String(entry.id);
  ui.detail.replaceChildren(
    el('h3', { tabIndex: -1, id: 'journal-detail-title' }, `Call #${entry.id}`),
    el('p', {}, `${entry.http_method} · charset ${entry.charset} · ${entry.latency_ms.toFixed(1)} ms · faults: ${(entry.faults || []).join(', ') || 'none'}`),
    el('h3', {}, 'Answer codes'), pre('journal-detail-outcome', JSON.stringify(entry.outcome)),
    el('h3', {}, 'Verdict'),
    el('p', { 'data-testid': 'journal-detail-verdict', className: entry.signature?.verified ? 'ok' : 'bad' }, `${verdictText(entry.signature?.verified)} — ${explanation(entry)}`),
    d ? el('p', { 'data-testid': 'journal-detail-diagnosis', className: 'bad' }, `Doctor (${d.code}): ${d.message}`) : '',
    el('h3', {}, 'String the signature was verified over'),
    pre('journal-detail-sign-content', entry.signature?.sign_content ?? '(none)'),
    el('h3', {}, 'Parameters (masked)'),
    pre('journal-detail-params', JSON.stringify(entry.params, null, 2)),
    copyAsDoctor(entry));
}

/** Fetches the journal with the filters and redraws. */
export async function refresh() {
  const query = new URLSearchParams({ limit: '200' });
  for (const name of ['app_id', 'method', 'outcome']) {
    const value = ui[name].value.trim();
    if (value) query.set(name, value);
  }
  const answer = await api('GET', `requests?${query}`);
  entries = answer.requests.slice().reverse();
  ui.count.textContent = `${answer.total} call(s) in the journal; showing ${entries.length} newest first.`;
  ui.body.replaceChildren(...entries.map(row));
  // The open call stays open while the filters show it; else its detail goes too.
  // Entries never change once recorded: an open call is drawn again only when another
  // one is open, so a copy status or a selection in it survives the polling.
  const open = entries.find((e) => e.id === openId);
  if (!open) {
    ui.detail.replaceChildren();
    delete ui.detail.dataset.id;
  } else if (ui.detail.dataset.id !== String(open.id)) {
    showDetail(open);
  }
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!ui.live.checked || ui.hidden) return;
  timer = setTimeout(() => refresh().catch(showError).finally(schedule), POLL_MS);
}

export function shown() { ui.hidden = false; schedule(); }
export function hidden() { ui.hidden = true; clearTimeout(timer); timer = null; }
