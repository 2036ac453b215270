// Test data (测试数据): apps, identities, authorisations (grant / revoke), scenarios,
// faults and reset, all through the admin API.
import { api, el, field, select, showError } from './api.js';

const ui = {};
const AUTHQUERY = 'zhima.auth.info.authquery';

/** Runs an admin action, shows its error if any, then redraws. */
function act(fn) {
  return async (event) => {
    if (event) event.preventDefault();
    showError();
    try { await fn(); await refresh(); } catch (e) { showError(e); }
  };
}

function table(testid, headers, rows) {
  return el('div', { className: 'table-wrap' }, el('table', { 'data-testid': testid },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows)));
}

async function fingerprint(pem) {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `SHA256:${[...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(':')}…`;
}

export function mount(section) {
  ui.apps = el('div'); ui.identities = el('div'); ui.authorizations = el('div');
  ui.scenarios = el('div'); ui.faults = el('div');
  const input = (id, props = {}) => el('input', { id, name: id, 'data-testid': id, ...props });

  ui.grantApp = input('grant-app_id', { value: '2014072300007148' });
  ui.grantIdentity = input('grant-identity', { value: 'zhangsan' });
  ui.grantCategory = select({ id: 'grant-auth_category', 'data-testid': 'grant-auth_category' }, [['C2B'], ['C2ConB'], ['B2B']]);
  const grantForm = el('form', { 'data-testid': 'grant-form', onsubmit: act(() => api('POST', 'authorizations', {
    app_id: ui.grantApp.value.trim(), identity: ui.grantIdentity.value.trim(), auth_category: ui.grantCategory.value,
  })) }, el('div', { className: 'grid' }, field('App', ui.grantApp), field('Identity id', ui.grantIdentity), field('auth_category', ui.grantCategory)),
  el('button', { type: 'submit', 'data-testid': 'grant-submit' }, 'Grant 授权'));

  ui.scMethod = input('scenario-method', { value: AUTHQUERY });
  ui.scApp = input('scenario-app_id', { placeholder: 'any' });
  ui.scIdentity = input('scenario-identity', { placeholder: 'any (identity id)' });
  ui.scOutcome = select({ id: 'scenario-outcome', 'data-testid': 'scenario-outcome' }, [
    ['error', 'error (sub_code or business code)'], ['authorized', 'authorized: true'], ['unauthorized', 'authorized: false']]);
  ui.scError = input('scenario-error', { value: 'ZM_ACCOUNT_PAUSE' });
  ui.scTimes = input('scenario-times', { type: 'number', min: 1, value: 1 });
  const scenarioForm = el('form', { 'data-testid': 'scenario-form', onsubmit: act(createScenario) },
    el('div', { className: 'grid' }, field('Match method', ui.scMethod), field('Match app_id', ui.scApp),
      field('Match identity', ui.scIdentity), field('Outcome', ui.scOutcome), field('Error code', ui.scError),
      field('Times (next N calls)', ui.scTimes)),
    el('button', { type: 'submit', 'data-testid': 'scenario-submit' }, 'Force 强制'));

  ui.fSeed = input('fault-seed', { type: 'number', min: 0, value: 1 });
  ui.fLatency = input('fault-latency_ms', { type: 'number', min: 0, max: 120000, placeholder: 'none' });
  ui.fUnknown = input('fault-unknown_error_rate', { type: 'number', min: 0, max: 1, step: 0.05, placeholder: '0' });
  ui.fDrop = input('fault-drop_connection_rate', { type: 'number', min: 0, max: 1, step: 0.05, placeholder: '0' });
  ui.fHostile = select({ id: 'fault-hostile', 'data-testid': 'fault-hostile' }, [['', 'none'], ['wrong_key'], ['missing_sign'], ['altered_body']]);
  const faultForm = el('form', { 'data-testid': 'fault-form', onsubmit: act(setFaults) },
    el('div', { className: 'grid' }, field('Seed', ui.fSeed), field('Latency (ms)', ui.fLatency),
      field('unknown_error rate', ui.fUnknown), field('Dropped connection rate', ui.fDrop), field('Hostile answers', ui.fHostile)),
    el('button', { type: 'submit', 'data-testid': 'fault-submit' }, 'Set faults'),
    el('button', { type: 'button', className: 'secondary', 'data-testid': 'fault-clear', onclick: act(() => api('DELETE', 'faults')) }, 'Clear faults'));

  ui.resetApp = input('reset-app_id', { placeholder: 'app_id' });
  const resetForm = el('div', {},
    el('button', { type: 'button', className: 'danger', 'data-testid': 'reset-all',
      onclick: act(async () => { if (confirm('Reset everything to the fixtures? 确认重置全部？')) await api('POST', 'reset'); }) }, 'Reset all'),
    field('Reset one app', ui.resetApp),
    el('button', { type: 'button', className: 'danger', 'data-testid': 'reset-app',
      onclick: act(async () => {
        const id = ui.resetApp.value.trim();
        if (id && confirm(`Reset app ${id} to the fixtures?`)) await api('POST', `reset?app_id=${encodeURIComponent(id)}`);
      }) }, 'Reset app'));

  section.append(
    el('h3', {}, 'Apps 应用'), ui.apps,
    el('h3', {}, 'Identities 身份'), ui.identities,
    el('h3', {}, 'Authorizations 授权'), ui.authorizations, grantForm,
    el('h3', {}, 'Scenarios 场景'), ui.scenarios, scenarioForm,
    el('h3', {}, 'Faults 故障注入'), ui.faults, faultForm,
    el('h3', {}, 'Reset 重置'), resetForm);
}

async function createScenario() {
  const match = {};
  if (ui.scMethod.value.trim()) match.method = ui.scMethod.value.trim();
  if (ui.scApp.value.trim()) match.app_id = ui.scApp.value.trim();
  if (ui.scIdentity.value.trim()) match.identity = ui.scIdentity.value.trim();
  const outcome = ui.scOutcome.value === 'error' ? { error: ui.scError.value.trim() }
    : { authorized: ui.scOutcome.value === 'authorized' };
  await api('POST', 'scenarios', { match, outcome, times: Number(ui.scTimes.value) || 1 });
}

async function setFaults() {
  const body = { seed: Number(ui.fSeed.value) || 0 };
  if (ui.fLatency.value) body.latency_ms = Number(ui.fLatency.value);
  if (ui.fUnknown.value) body.unknown_error_rate = Number(ui.fUnknown.value);
  if (ui.fDrop.value) body.drop_connection_rate = Number(ui.fDrop.value);
  if (ui.fHostile.value) body.hostile = { mode: ui.fHostile.value };
  await api('PUT', 'faults', body);
}

export async function refresh() {
  const [apps, identities, authorizations, scenarios, faults] = await Promise.all([
    api('GET', 'apps'), api('GET', 'identities'), api('GET', 'authorizations'), api('GET', 'scenarios'),
    api('GET', 'faults').catch(() => null),
  ]);
  const appRows = await Promise.all(apps.map(async (a) => {
    const prints = await Promise.all(Object.entries(a.public_keys || {}).map(async ([t, pem]) =>
      el('div', {}, `${t}: `, el('code', {}, await fingerprint(pem).catch(() => '(unreadable)')))));
    const sns = a.cert_sns ? Object.entries(a.cert_sns).map(([k, v]) => el('div', {}, `${k}: `, el('code', {}, v))) : 'key mode';
    return el('tr', { 'data-testid': 'app-row', 'data-app': a.app_id },
      el('td', {}, el('code', {}, a.app_id), el('div', { className: 'muted' }, a.name)),
      el('td', {}, Object.keys(a.public_keys || {}).join(', ') || (a.app_cert ? 'certificate' : '')),
      el('td', {}, prints), el('td', {}, (a.allowed_methods || ['any']).join(', ')), el('td', {}, sns));
  }));
  ui.apps.replaceChildren(table('apps-table', ['App', 'Sign types', 'Key fingerprints', 'Allowed methods', 'Certificate SNs'], appRows));

  ui.identities.replaceChildren(table('identities-table', ['Id', 'Name', 'Lookup', 'Account state', 'Answer'],
    identities.map((i) => el('tr', { 'data-testid': 'identity-row', 'data-identity': i.id },
      el('td', {}, el('code', {}, i.id)), el('td', { lang: 'zh-CN' }, i.name ?? ''),
      el('td', {}, [i.cert_no ? `certNo ${i.cert_no}` : null, i.user_id ? `userId ${i.user_id}` : null].filter(Boolean).join(' · ')),
      el('td', {}, i.state ?? 'normal'), el('td', {}, i.description ?? '')))));

  ui.authorizations.replaceChildren(table('authorizations-table', ['App', 'Identity', 'Category', 'open_id', ''],
    authorizations.map((a) => el('tr', { 'data-testid': 'authorization-row', 'data-identity': a.identity, 'data-app': a.app_id },
      el('td', {}, a.app_id), el('td', {}, a.identity), el('td', {}, a.auth_category), el('td', {}, a.open_id ?? ''),
      el('td', {}, el('button', { type: 'button', className: 'danger', 'data-testid': `revoke-${a.app_id}-${a.identity}-${a.auth_category}`,
        'aria-label': `Revoke ${a.identity} ${a.auth_category} for ${a.app_id}`,
        onclick: act(() => api('DELETE', `authorizations?${new URLSearchParams({ app_id: a.app_id, identity: a.identity, auth_category: a.auth_category })}`)) }, 'Revoke 撤销'))))));

  ui.scenarios.replaceChildren(scenarios.length === 0 ? el('p', { className: 'muted', 'data-testid': 'scenarios-empty' }, 'No scenario in force.')
    : table('scenarios-table', ['Id', 'Match', 'Outcome', 'Left', ''],
      scenarios.map((s) => el('tr', { 'data-testid': 'scenario-row', 'data-id': s.id },
        el('td', {}, el('code', {}, s.id)), el('td', {}, JSON.stringify(s.match ?? {})), el('td', {}, JSON.stringify(s.outcome)),
        el('td', {}, s.remaining ?? s.expires_at ?? (s.nth ? `nth ${s.nth}` : '')),
        el('td', {}, el('button', { type: 'button', className: 'danger', 'data-testid': `scenario-delete-${s.id}`,
          onclick: act(() => api('DELETE', `scenarios/${encodeURIComponent(s.id)}`)) }, 'Delete'))))));

  ui.faults.replaceChildren(el('pre', { 'data-testid': 'faults-current' }, faults && Object.keys(faults).length ? JSON.stringify(faults) : 'none'));
}
