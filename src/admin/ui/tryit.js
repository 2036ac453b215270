// Try it (在线调试): builds, signs (WebCrypto, key kept in the browser) and sends one
// gateway.do request, then shows every step and checks the answer's signature.
import { api, el, field, select, showError } from './api.js';
import {
  beijingTimestamp, formBody, importPrivateKey, importPublicKey, shellQuote, sign,
  signContent, signedNode, verify,
} from './sign.js';

const AUTHQUERY = 'zhima.auth.info.authquery';
const CERT_DOWNLOAD = 'alipay.open.app.alipaycert.download';
/** The API document's request example. */
const EXAMPLE = { identity_type: '2', certType: 'IDENTITY_CARD', name: '张三', certNo: '33021199003132432', auth_category: 'C2B' };

let apps = [];
/** The method definitions in force (GET /__admin/methods), by method name. */
let definitions = new Map();
const ui = {};

function out(testid, label) {
  const pre = el('pre', { 'data-testid': testid, 'aria-label': label, tabIndex: 0 });
  return [el('h3', {}, label), pre];
}

/** Builds the view once. */
export function mount(section) {
  ui.app = select({ id: 'try-app', 'data-testid': 'try-app', onchange: loadKey }, []);
  ui.key = el('textarea', {
    id: 'try-key', rows: 4, 'data-testid': 'try-key', spellcheck: false,
    placeholder: '-----BEGIN PRIVATE KEY----- (PKCS#8; stays in this browser)',
  });
  ui.keyNote = el('p', { className: 'muted', 'data-testid': 'try-key-note' });
  ui.method = select({ id: 'try-method', 'data-testid': 'try-method', onchange: renderBizFields },
    [[AUTHQUERY], [CERT_DOWNLOAD]]);
  ui.signType = select({ id: 'try-sign-type', 'data-testid': 'try-sign-type' }, [['RSA2'], ['RSA']]);
  ui.charset = select({ id: 'try-charset', 'data-testid': 'try-charset' }, [['utf-8'], ['GBK']]);
  ui.biz = el('div', { className: 'grid', 'data-testid': 'try-biz-fields' });
  ui.bizPreview = el('pre', { 'data-testid': 'try-biz-content', 'aria-label': 'biz_content' });
  ui.send = el('button', { type: 'submit', 'data-testid': 'try-send' }, 'Send 发送');
  ui.curl = el('button', { type: 'button', className: 'secondary', 'data-testid': 'try-curl', onclick: copyCurl }, 'Copy as curl');
  ui.result = el('div', { 'data-testid': 'try-result', 'aria-live': 'polite' });
  ui.curlText = el('pre', { 'data-testid': 'try-curl-text', hidden: true });
  const form = el('form', { 'data-testid': 'try-form', onsubmit: (e) => { e.preventDefault(); send(); } },
    el('div', { className: 'grid' },
      field('App (app_id)', ui.app), field('Method', ui.method),
      field('Sign type', ui.signType), field('Charset', ui.charset)),
    field('App private key', ui.key), ui.keyNote,
    el('h3', {}, 'biz_content fields'), ui.biz,
    el('h3', {}, 'biz_content'), ui.bizPreview,
    ui.send, ui.curl, ui.curlText);
  section.append(el('div', { className: 'cols' }, form, ui.result));
  renderBizFields();
}

function input(name, value, label) {
  const control = el('input', { id: `try-f-${name}`, name, value: value ?? '', 'data-testid': `try-field-${name}`, oninput: preview });
  return field(label, control);
}

/** The JSON editor of a defined method's biz_content, prefilled with `biz`. */
function renderJsonEditor(biz) {
  ui.bizJson = el('textarea', {
    id: 'try-biz-json', rows: 8, spellcheck: false, 'data-testid': 'try-biz-json', oninput: preview,
  });
  ui.bizJson.value = JSON.stringify(biz ?? {}, null, 2);
  const definition = definitions.get(ui.method.value);
  const note = el('p', { className: 'muted', 'data-testid': 'try-definition-note' });
  note.textContent = `Defined method. ${definition?.description ?? ''}`;
  ui.biz.append(note, field('biz_content (JSON)', ui.bizJson));
}

/** The form of the chosen method: the document's field table, its example prefilled;
 *  a defined method gets a JSON editor prefilled from its definition's `example`. */
function renderBizFields(values = EXAMPLE) {
  ui.biz.replaceChildren();
  ui.bizJson = undefined;
  if (definitions.has(ui.method.value)) {
    renderJsonEditor(values === EXAMPLE ? definitions.get(ui.method.value).example : values);
  } else if (ui.method.value === AUTHQUERY) {
    const type = select({ id: 'try-f-identity_type', name: 'identity_type', 'data-testid': 'try-field-identity_type',
      onchange: () => renderBizFields(readFields()) },
      [['2', '2 — 身份证 (identity card)'], ['5', '5 — 支付宝 userId']]);
    type.value = values.identity_type || '2';
    ui.biz.append(field('identity_type 身份类型', type));
    if (type.value === '5') {
      ui.biz.append(input('userId', values.userId ?? '2088102000000001', 'userId 支付宝用户ID'));
    } else {
      ui.biz.append(input('certType', values.certType ?? 'IDENTITY_CARD', 'certType 证件类型'),
        input('name', values.name ?? '', 'name 姓名'),
        input('certNo', values.certNo ?? '', 'certNo 证件号'));
    }
    const category = select({ id: 'try-f-auth_category', name: 'auth_category', 'data-testid': 'try-field-auth_category', onchange: preview },
      [['C2B'], ['C2ConB'], ['B2B'], ['', '(omitted: C2B)']]);
    category.value = values.auth_category ?? 'C2B';
    ui.biz.append(field('auth_category 授权类别', category));
  } else {
    ui.biz.append(input('alipay_cert_sn', values.alipay_cert_sn ?? '', 'alipay_cert_sn 支付宝公钥证书SN'));
  }
  preview();
}

function readFields() {
  const values = {};
  for (const control of ui.biz.querySelectorAll('input, select')) values[control.name] = control.value;
  return values;
}

function bizContent() {
  if (ui.bizJson) return ui.rawBiz ?? ui.bizJson.value;
  const v = readFields();
  if (ui.method.value === AUTHQUERY) {
    const param = v.identity_type === '5' ? { userId: v.userId }
      : { certType: v.certType, name: v.name, certNo: v.certNo };
    const biz = { identity_param: JSON.stringify(param), identity_type: v.identity_type };
    if (v.auth_category) biz.auth_category = v.auth_category;
    return ui.rawBiz ?? JSON.stringify(biz);
  }
  return ui.rawBiz ?? JSON.stringify({ alipay_cert_sn: v.alipay_cert_sn });
}

function preview() {
  ui.rawBiz = undefined;
  ui.bizPreview.textContent = bizContent();
}

/** Loads the apps (called whenever the view is shown). */
export async function refresh() {
  apps = await api('GET', 'apps');
  await refreshMethods();
  const current = ui.app.value;
  ui.app.replaceChildren(...apps.map((a) => el('option', { value: a.app_id }, `${a.app_id} — ${a.name ?? ''}`)));
  if (current && apps.some((a) => a.app_id === current)) ui.app.value = current;
  await loadKey();
}

/** The method list: the built-in ones, then every defined method. */
async function refreshMethods() {
  definitions = new Map((await api('GET', 'methods')).map((d) => [d.method, d]));
  const current = ui.method.value;
  const names = [AUTHQUERY, CERT_DOWNLOAD, ...definitions.keys()];
  ui.method.replaceChildren(...names.map((name) => el('option', { value: name }, name)));
  ui.method.value = names.includes(current) ? current : AUTHQUERY;
  if (ui.method.value !== current) renderBizFields();
}

/** Fills the form for a defined method with this biz_content (Magic values' rows). */
export async function prefillDefined(method, biz) {
  await refresh();
  ui.method.value = method;
  renderBizFields(biz);
}

async function loadKey() {
  ui.keyNote.textContent = '';
  try {
    ui.key.value = await api('GET', `apps/${encodeURIComponent(ui.app.value)}/test-key`);
    ui.keyNote.textContent = 'The fixture test key of this app (test-only, published in the repository).';
  } catch (e) {
    if (e.status !== 404) throw e;
    ui.key.value = '';
    ui.keyNote.textContent = 'No fixture key for this app: paste its PKCS#8 private key; it stays in this browser.';
  }
}

/** Fills the form from a catalogue case and shows the view (Magic values' "try it"). */
export async function prefill(testCase) {
  await refresh();
  ui.app.value = testCase.app_id;
  await loadKey();
  ui.method.value = testCase.method;
  const biz = testCase.biz_content || {};
  let values = { ...biz };
  try { values = { ...biz, ...JSON.parse(biz.identity_param || '{}') }; } catch { /* raw below */ }
  renderBizFields(values);
  // Keep the catalogue's exact biz_content (it may be deliberately malformed).
  ui.rawBiz = JSON.stringify(biz);
  ui.bizPreview.textContent = ui.rawBiz;
  if (testCase.sign_types && !testCase.sign_types.includes(ui.signType.value)) ui.signType.value = testCase.sign_types[0];
}

async function buildRequest() {
  const signType = ui.signType.value;
  const charset = ui.charset.value;
  const params = {
    app_id: ui.app.value, method: ui.method.value, format: 'JSON', charset,
    sign_type: signType, timestamp: beijingTimestamp(), version: '1.0', biz_content: bizContent(),
  };
  const content = signContent(params);
  const key = await importPrivateKey(ui.key.value, signType);
  params.sign = await sign(key, content, charset);
  return { params, content, signType, charset, body: formBody(params, charset) };
}

function gatewayUrl() {
  return new URL('/gateway.do', location.href).href;
}

async function send() {
  showError();
  ui.send.disabled = true;
  try {
    const request = await buildRequest();
    const res = await fetch(gatewayUrl(), {
      method: 'POST',
      headers: { 'Content-Type': `application/x-www-form-urlencoded;charset=${request.charset}` },
      body: request.body,
    });
    const bytes = await res.arrayBuffer();
    const text = new TextDecoder(/^gbk$/i.test(request.charset) ? 'gbk' : 'utf-8').decode(bytes);
    await showResult(request, res, text);
  } catch (e) {
    showError(e);
  } finally {
    ui.send.disabled = false;
  }
}

async function showResult(request, res, text) {
  const nodeName = `${request.params.method.replace(/\./g, '_')}_response`;
  const signed = signedNode(text, nodeName);
  let verdict = 'answer not signed';
  let ok = false;
  const app = apps.find((a) => a.app_id === request.params.app_id);
  if (signed && signed.sign && app) {
    const key = await importPublicKey(app.platform_public_key, request.signType);
    ok = await verify(key, signed.node, signed.sign, request.charset);
    verdict = ok ? 'signature verified' : 'signature NOT verified';
  }
  let node = {};
  try { node = JSON.parse(signed ? signed.node : '{}'); } catch { node = {}; }
  const summary = el('p', { 'data-testid': 'try-summary' },
    el('span', { className: `badge ${node.code === '10000' ? 'ok' : 'bad'}`, 'data-testid': 'try-code' }, `code ${node.code ?? '?'}`),
    ' ', node.sub_code ? el('span', { 'data-testid': 'try-sub-code' }, `${node.sub_code} ${node.sub_msg ?? ''}`) : '',
    ' ', 'authorized' in node ? el('span', { 'data-testid': 'try-authorized' }, `authorized: ${node.authorized}`) : '',
    ' ', el('span', { className: `badge ${ok ? 'ok' : 'bad'}`, 'data-testid': 'try-verdict' }, verdict));
  const diagnosis = res.headers.get('x-alipay-mock-diagnosis');
  const parts = [
    el('h3', {}, 'Answer'), summary,
    diagnosis ? el('p', { className: 'bad', 'data-testid': 'try-diagnosis' }, `Doctor: ${diagnosis}`) : '',
    ...out('try-params', 'Parameters'), ...out('try-sign-content', 'String to sign'),
    ...out('try-signature', 'Signature (sign)'), ...out('try-answer', `Raw answer (HTTP ${res.status})`),
  ];
  ui.result.replaceChildren(...parts);
  ui.result.querySelector('[data-testid="try-params"]').textContent = JSON.stringify(request.params, null, 2);
  ui.result.querySelector('[data-testid="try-sign-content"]').textContent = request.content;
  ui.result.querySelector('[data-testid="try-signature"]').textContent = request.params.sign;
  ui.result.querySelector('[data-testid="try-answer"]').textContent = text;
}

async function copyCurl() {
  showError();
  try {
    const request = await buildRequest();
    const command = `curl -sS -X POST ${shellQuote(gatewayUrl())} -H ${shellQuote(`Content-Type: application/x-www-form-urlencoded;charset=${request.charset}`)} --data-raw ${shellQuote(request.body)}`;
    ui.curlText.hidden = false;
    ui.curlText.textContent = command;
    if (navigator.clipboard) await navigator.clipboard.writeText(command).catch(() => {});
  } catch (e) {
    showError(e);
  }
}
