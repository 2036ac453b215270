// Notification conformance for the official Node.js SDK (npm alipay-sdk 4.14.0), issue 18.
//
//     node scripts/sdk/node_notify_conformance.mjs http://127.0.0.1:PORT/gateway.do
//
// Environment (optional): SDK_NODE_DIR (default .sdk/node), SDK_CONFORMANCE_DEBUG=1.
//
// A notify handler runs in this process: it reads the form body in the charset its
// Content-Type names, hands the parameters to the SDK's own `checkNotifySign` and
// `checkNotifySignV2` (an SDK configured the way an app configures it: key mode with the
// platform public key, certificate mode with the platform certificate), and answers
// `success` only when both accept. The driver asks the gateway for notifications through
// the admin API and checks that each was delivered on its first attempt:
//   1. key mode, RSA2 and RSA, utf-8 (Chinese, spaces, `&`, `=`, `+` in values) and GBK.
//      GBK values are ASCII here: the Node SDK verifies over the UTF-8 bytes of the text
//      (`createVerify().update(content, 'utf-8')`), so it cannot verify a GBK
//      notification holding Chinese — an SDK limit, the real platform's GBK
//      notifications fail there too (docs/protocol.md §9.2).
//   2. certificate mode (app 2021000000000003), RSA2, utf-8.
//   3. a handler configured with another platform key answers `fail`: not delivered.
//   4. triggered by a call: with a method definition whose rule declares a notification
//      (issue 17), the SDK's own `exec('alipay.trade.query', {notifyUrl, …})` makes the
//      gateway send the rule's notification to the handler, which verifies it.
//   5. retries: a handler that answers `fail` twice sees the attempts at the scheduled
//      virtual times (T, T+4m, T+14m on a frozen clock), then `success` ends them.
// One line per check (`PASS node-notify <check> [<variant>]` / `FAIL … : <why>`), then
// `N passed, N failed`; exit 0 only when nothing failed.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SDK = 'node-notify';
const DEFAULT_APP_ID = '2014072300007148';
const CERT_APP_ID = '2021000000000003';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gateway = process.argv[2];
if (!gateway || !/^http:\/\//.test(gateway)) {
  console.error('usage: node scripts/sdk/node_notify_conformance.mjs http://HOST:PORT/gateway.do');
  console.log('0 passed, 1 failed');
  process.exit(2);
}
const adminBase = gateway.replace(/\/gateway\.do$/, '/__admin/');
const sdkDir = process.env.SDK_NODE_DIR || join(ROOT, '.sdk', 'node');
const { AlipaySdk } = createRequire(join(sdkDir, 'package.json'))('alipay-sdk');
const read = (path) => readFileSync(path, 'ascii');
const keys = join(ROOT, 'fixtures', 'keys');
const certs = join(ROOT, 'fixtures', 'certs');

let passed = 0;
let failed = 0;
function report(ok, check, variant, why) {
  const label = variant ? `${check} [${variant}]` : check;
  if (ok) {
    passed += 1;
    console.log(`PASS ${SDK} ${label}`);
  } else {
    failed += 1;
    console.log(`FAIL ${SDK} ${label} : ${String(why).replace(/\s+/g, ' ')}`);
  }
}

// ---------------------------------------------------------------- SDKs as apps configure them
const keySdk = (signType, alipayPublicKey = read(join(keys, 'alipay_public_key.pem'))) =>
  new AlipaySdk({
    appId: DEFAULT_APP_ID,
    signType,
    privateKey: read(join(keys, 'app_private_key_pkcs1.pem')),
    alipayPublicKey,
    gateway,
  });
const certSdk = (signType) =>
  new AlipaySdk({
    appId: CERT_APP_ID,
    signType,
    privateKey: read(join(certs, 'app_private_key_pkcs1.pem')),
    appCertPath: join(certs, 'app_cert_public_key.crt'),
    alipayPublicCertPath: join(certs, 'alipay_cert_public_key_rsa2.crt'),
    alipayRootCertPath: join(certs, 'alipay_root_cert.crt'),
    gateway,
  });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'pem' });

// ---------------------------------------------------------------- the notify handler
/** The form body's parameters, percent-decoded to bytes and decoded in `charset`. */
function parseForm(body, charset) {
  const decoder = new TextDecoder(charset.toLowerCase() === 'utf-8' ? 'utf-8' : 'gbk');
  const decode = (text) => {
    const bytes = [];
    const plain = text.replaceAll('+', ' ');
    for (let i = 0; i < plain.length; i += 1) {
      if (plain[i] === '%') {
        bytes.push(parseInt(plain.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(plain.charCodeAt(i));
      }
    }
    return decoder.decode(Uint8Array.from(bytes));
  };
  const params = {};
  for (const pair of body.split('&')) {
    const at = pair.indexOf('=');
    params[decode(pair.slice(0, at))] = decode(pair.slice(at + 1));
  }
  return params;
}

const routes = new Map(); // path -> { sdk, script: [answers...], seen: [] }
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const route = routes.get(req.url);
    const charset = /charset=([^;]+)/.exec(req.headers['content-type'] || '')?.[1] || 'utf-8';
    let verdict = 'fail';
    if (route) {
      const params = parseForm(Buffer.concat(chunks).toString('ascii'), charset);
      const v1 = route.sdk.checkNotifySign({ ...params });
      const v2 = route.sdk.checkNotifySignV2({ ...params });
      route.seen.push({ v1, v2, params });
      verdict = v1 && v2 ? (route.script.shift() ?? 'success') : 'fail';
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(verdict);
  });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const handlerBase = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------- admin API
async function admin(method, path, body) {
  const response = await fetch(adminBase + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function waitFor(id, done) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const { json } = await admin('GET', `notifications/${id}`);
    if (done(json)) return json;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(json)}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

let routeNumber = 0;
async function send(sdk, body, script = []) {
  routeNumber += 1;
  const path = `/notify/${routeNumber}`;
  const route = { sdk, script: [...script], seen: [] };
  routes.set(path, route);
  const created = await admin('POST', 'notifications', { notify_url: handlerBase + path, ...body });
  if (created.status !== 201) throw new Error(`POST notifications: ${created.status} ${JSON.stringify(created.json)}`);
  return { id: created.json.id, route };
}

const business = (subject) => ({
  notify_type: 'trade_status_sync',
  out_trade_no: `T${Date.now()}`,
  trade_no: '2026030122001400000000000001',
  trade_status: 'TRADE_SUCCESS',
  total_amount: '88.88',
  subject,
  gmt_payment: '2026-03-01 10:00:00',
});

async function check(name, variant, fn) {
  try {
    await fn();
    report(true, name, variant);
  } catch (e) {
    if (process.env.SDK_CONFORMANCE_DEBUG) console.error(e);
    report(false, name, variant, e.message || e);
  }
}

async function expectDelivered(sdk, body) {
  const { id, route } = await send(sdk, body);
  const n = await waitFor(id, (n) => n.attempts.length > 0);
  const seen = route.seen[0];
  if (!seen) throw new Error(`the handler saw nothing: ${JSON.stringify(n.attempts)}`);
  if (!seen.v1 || !seen.v2) throw new Error(`checkNotifySign ${seen.v1}, checkNotifySignV2 ${seen.v2}; signed: ${n.sign_content}`);
  if (n.state !== 'delivered') throw new Error(`state ${n.state}: ${JSON.stringify(n.attempts)}`);
}

// ---------------------------------------------------------------- checks
for (const signType of ['RSA2', 'RSA']) {
  for (const [charset, subject] of [['utf-8', '大乐透 2.1 & a=b+c'], ['GBK', 'Lotto 2.1 & a=b+c']]) {
    await check('key mode', `${signType},${charset}`, () =>
      expectDelivered(keySdk(signType), {
        app_id: DEFAULT_APP_ID, sign_type: signType, charset, params: business(subject),
      }));
  }
}
await check('certificate mode', 'RSA2,utf-8', () =>
  expectDelivered(certSdk('RSA2'), {
    app_id: CERT_APP_ID, sign_type: 'RSA2', charset: 'utf-8', params: business('证书模式 notify'),
  }));

await check('another platform key rejects', 'RSA2,utf-8', async () => {
  const { id, route } = await send(keySdk('RSA2', otherKey), {
    app_id: DEFAULT_APP_ID, params: business('wrong key'), delay_seconds: 0,
  });
  const n = await waitFor(id, (n) => n.attempts.length > 0);
  if (route.seen[0]?.v1 !== false || route.seen[0]?.v2 !== false) throw new Error('the SDK accepted a notification signed with a key it was not given');
  if (n.state !== 'pending' || n.attempts[0].body !== 'fail') throw new Error(`expected a rejected attempt: ${JSON.stringify(n)}`);
  await admin('DELETE', `notifications/${id}`);
});

await check('triggered by an SDK call of a defined method', 'RSA2,utf-8', async () => {
  const method = 'alipay.trade.query';
  const definition = {
    method,
    rules: [{
      answer: { trade_status: 'TRADE_SUCCESS', out_trade_no: '{{biz.out_trade_no}}' },
      notify: { params: { notify_type: 'trade_status_sync', out_trade_no: '{{biz.out_trade_no}}', trade_status: 'TRADE_SUCCESS' } },
    }],
  };
  const put = await admin('PUT', `methods/${method}`, definition);
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT methods: ${put.status} ${JSON.stringify(put.json)}`);
  try {
    routeNumber += 1;
    const path = `/notify/${routeNumber}`;
    const route = { sdk: keySdk('RSA2'), script: [], seen: [] };
    routes.set(path, route);
    const outTradeNo = `T${Date.now()}`;
    const result = await keySdk('RSA2').exec(method, { bizContent: { out_trade_no: outTradeNo }, notifyUrl: handlerBase + path }, { validateSign: true });
    if (result.code !== '10000') throw new Error(`exec answered ${JSON.stringify(result)}`);
    const deadline = Date.now() + 10000;
    while (route.seen.length === 0) {
      if (Date.now() > deadline) throw new Error('no notification reached the handler within 10 s');
      await new Promise((ok) => setTimeout(ok, 25));
    }
    const seen = route.seen[0];
    if (!seen.v1 || !seen.v2) throw new Error(`checkNotifySign ${seen.v1}, checkNotifySignV2 ${seen.v2}`);
    if (seen.params.out_trade_no !== outTradeNo) throw new Error(`out_trade_no ${seen.params.out_trade_no}`);
    const { json } = await admin('GET', `notifications/${seen.params.notify_id}`);
    const n = await waitFor(json.id, (n) => n.state !== 'pending');
    if (n.state !== 'delivered' || n.source !== 'rule') throw new Error(`state ${n.state}, source ${n.source}`);
  } finally {
    await admin('DELETE', `methods/${method}`);
  }
});

await check('retries on the virtual clock', 'fail,fail,success', async () => {
  const t0 = '2026-03-01T00:00:00Z';
  const at = (minutes) => new Date(Date.parse(t0) + minutes * 60000).toISOString().replace('.000Z', 'Z');
  await admin('PUT', 'clock', { frozen_at: t0 });
  try {
    const { id, route } = await send(keySdk('RSA2'), { app_id: DEFAULT_APP_ID, params: business('retry') }, ['fail', 'fail']);
    await waitFor(id, (n) => n.attempts.length === 1);
    await admin('PUT', 'clock', { frozen_at: at(4) });
    await waitFor(id, (n) => n.attempts.length === 2);
    await admin('PUT', 'clock', { frozen_at: at(14) });
    const n = await waitFor(id, (n) => n.state !== 'pending');
    const times = n.attempts.map((a) => a.at);
    const want = [at(0), at(4), at(14)];
    if (JSON.stringify(times) !== JSON.stringify(want)) throw new Error(`attempts at ${times}, want ${want}`);
    if (n.state !== 'delivered') throw new Error(`state ${n.state}`);
    if (route.seen.length !== 3 || !route.seen.every((s) => s.v1 && s.v2)) throw new Error(`handler saw ${JSON.stringify(route.seen.map((s) => [s.v1, s.v2]))}`);
  } finally {
    await admin('DELETE', 'clock');
  }
});

server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
