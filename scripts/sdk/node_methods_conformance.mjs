// Defined-method conformance driver for the official Node.js SDK (npm alipay-sdk 4.14.0),
// issue 17.
//
//     node scripts/sdk/node_methods_conformance.mjs http://127.0.0.1:PORT/gateway.do
//
// Environment (optional): SDK_NODE_DIR (default .sdk/node), SDK_CONFORMANCE_DEBUG=1.
//
// Loads examples/methods/*.json through the admin API (PUT /__admin/methods/{method}),
// then calls the defined methods through `sdk.exec(method, …)`:
//   1. key mode, RSA2 and RSA, `validateSign: true`: alipay.trade.query answers its rules
//      (T1001 TRADE_SUCCESS, T404 40004 ACQ.TRADE_NOT_EXIST, others WAIT_BUYER_PAY);
//      alipay.trade.refund echoes the refund amount; alipay.system.oauth.token and
//      alipay.user.info.share answer their token pair and profile.
//   2. a forced sequence: a scenario with `times: 2` answers WAIT_BUYER_PAY twice for the
//      app's alipay.trade.query, then the rule's TRADE_SUCCESS again.
//   3. certificate mode (app 2021000000000003): the same answers, verified by the SDK
//      against the platform certificate, with `alipay_cert_sn` in the raw answer.
//   4. `needEncrypt: true`: the answer is the encrypted node, signed over the quoted
//      ciphertext (verified here: Node 4.14 cannot verify encrypted answers, see
//      node_cert_conformance.mjs), and the SDK decrypts the defined answer.
//   5. a wrong platform key makes exec() reject the defined answer (验签失败).
// One line per check (`PASS node-methods <check> [<variant>]` / `FAIL … : <why>`), then
// `N passed, N failed`; exit 0 only when nothing failed.

import { createPublicKey, createVerify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { recordingProxy, reporter, shorten, show } from './node_support.mjs';

const SDK = 'node-methods';
const DEFAULT_APP_ID = '2014072300007148';
const CERT_APP_ID = '2021000000000003';
const QUERY = 'alipay.trade.query';
const HASH = { RSA2: 'RSA-SHA256', RSA: 'RSA-SHA1' };
const TIMEOUT_MS = 15000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gateway = process.argv[2];
if (!gateway || !/^https?:\/\//.test(gateway)) {
  console.error('usage: node scripts/sdk/node_methods_conformance.mjs http://HOST:PORT/gateway.do');
  console.log('0 passed, 1 failed');
  process.exit(2);
}
const sdkDir = process.env.SDK_NODE_DIR || join(ROOT, '.sdk', 'node');
const { AlipaySdk, AlipayRequestError } = createRequire(join(sdkDir, 'package.json'))('alipay-sdk');
const read = (path) => readFileSync(path, 'ascii');
const keysDir = join(ROOT, 'fixtures', 'keys');
const certsDir = join(ROOT, 'fixtures', 'certs');
const appKeyPkcs1 = read(join(keysDir, 'app_private_key_pkcs1.pem'));
const alipayPublicKey = read(join(keysDir, 'alipay_public_key.pem'));
const wrongPublicKey = process.env.WRONG_KEY_DIR ? read(join(process.env.WRONG_KEY_DIR, 'wrong_public_key.pem')) : null;
const aesKey = read(join(keysDir, 'aes_key.txt')).trim();
const base = new URL(gateway);

// ---------------------------------------------------------------- admin API
async function admin(method, path, body) {
  const response = await fetch(new URL(`/__admin/${path}`, base), {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} /__admin/${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---------------------------------------------------------------- SDK set-ups
const proxy = await recordingProxy(gateway);
const proxyUrl = proxy.url;

function makeSdk(appId, signType, extra) {
  return new AlipaySdk({ appId, signType, gateway: proxyUrl, charset: 'utf-8', timeout: TIMEOUT_MS, ...extra });
}
const keySdk = (signType, extra = {}) => makeSdk(DEFAULT_APP_ID, signType, { privateKey: appKeyPkcs1, alipayPublicKey, ...extra });
const certSdk = () => makeSdk(CERT_APP_ID, 'RSA2', {
  privateKey: read(join(certsDir, 'app_private_key_pkcs1.pem')),
  appCertPath: join(certsDir, 'app_cert_public_key.crt'),
  alipayPublicCertPath: join(certsDir, 'alipay_cert_public_key_rsa2.crt'),
  alipayRootCertPath: join(certsDir, 'alipay_root_cert.crt'),
});

// ---------------------------------------------------------------- checks
const { report, runCheck, finish } = reporter(SDK, proxy.reset);

/** Compares the SDK's (camel-cased) result with the expected fields. */
function expect(result, wanted) {
  const problems = [];
  for (const [key, want] of Object.entries(wanted)) {
    const got = result[key];
    const ok = want instanceof RegExp ? typeof got === 'string' && want.test(got) : got === want;
    if (!ok) problems.push(`${key}: expected ${want instanceof RegExp ? want : show(want)}, got ${show(got)}`);
  }
  return problems.length ? [...problems, `SDK result: ${shorten(JSON.stringify(result))}`] : null;
}

const PAID = { code: '10000', msg: 'Success', tradeStatus: 'TRADE_SUCCESS', outTradeNo: 'T1001', tradeNo: /^2026\d{24}$/, totalAmount: '88.88', sendPayDate: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/ };
const MISSING = { code: '40004', msg: 'Business Failed', subCode: 'ACQ.TRADE_NOT_EXIST', subMsg: '交易不存在' };
const query = (sdk, outTradeNo, options = {}) =>
  sdk.exec(QUERY, { bizContent: { out_trade_no: outTradeNo }, ...options.params }, { validateSign: true, ...options.exec });

async function keyMode() {
  for (const signType of ['RSA2', 'RSA']) {
    const sdk = keySdk(signType);
    const v = `key,${signType}`;
    await runCheck('trade_query_paid', v, async () => expect(await query(sdk, 'T1001'), PAID));
    await runCheck('trade_query_missing', v, async () => expect(await query(sdk, 'T404'), MISSING));
    await runCheck('trade_query_waiting', v, async () =>
      expect(await query(sdk, 'T2002'), { code: '10000', tradeStatus: 'WAIT_BUYER_PAY', outTradeNo: 'T2002' }));
    await runCheck('trade_refund', v, async () => {
      const result = await sdk.exec('alipay.trade.refund',
        { bizContent: { out_trade_no: 'T1001', refund_amount: '12.34', out_request_no: 'R1' } }, { validateSign: true });
      return expect(result, { code: '10000', fundChange: 'Y', refundFee: '12.34', outTradeNo: 'T1001' });
    });
    await runCheck('trade_refund_too_much', v, async () => {
      const result = await sdk.exec('alipay.trade.refund',
        { bizContent: { out_trade_no: 'T1001', refund_amount: '999.99' } }, { validateSign: true });
      return expect(result, { code: '40004', subCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
    });
    await runCheck('oauth_token', v, async () => {
      const result = await sdk.exec('alipay.system.oauth.token',
        { grantType: 'authorization_code', code: '4b203fe6c11548bcabd8da5bb087a83b' }, { validateSign: true });
      return expect(result, { code: '10000', userId: '2088102177220437', accessToken: /^authusrB[0-9a-f-]{36}$/, expiresIn: '1296000' });
    });
    await runCheck('user_info_share', v, async () => {
      const result = await sdk.exec('alipay.user.info.share', { authToken: 'authusrB-token' }, { validateSign: true });
      return expect(result, { code: '10000', nickName: '沙箱用户', gender: 'F', city: '杭州市' });
    });
  }
}

async function forcedSequence() {
  await admin('POST', 'scenarios', {
    match: { method: QUERY, app_id: DEFAULT_APP_ID },
    times: 2,
    outcome: { answer: { out_trade_no: '{{biz.out_trade_no}}', trade_status: 'WAIT_BUYER_PAY' } },
  });
  const sdk = keySdk('RSA2');
  for (const [i, status] of [['1', 'WAIT_BUYER_PAY'], ['2', 'WAIT_BUYER_PAY'], ['3', 'TRADE_SUCCESS']]) {
    await runCheck(`forced_sequence_call_${i}`, 'key,RSA2', async () =>
      expect(await query(sdk, 'T1001'), { code: '10000', outTradeNo: 'T1001', tradeStatus: status }));
  }
  await admin('POST', 'scenarios', {
    match: { method: QUERY, app_id: DEFAULT_APP_ID },
    outcome: { error: { sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: '系统错误' } },
  });
  await runCheck('forced_business_error', 'key,RSA2', async () =>
    expect(await query(sdk, 'T1001'), { code: '40004', subCode: 'ACQ.SYSTEM_ERROR', subMsg: '系统错误' }));
}

async function certMode() {
  const sdk = certSdk();
  const sn = sdk.config.alipayCertSn;
  const layout = () => {
    const text = proxy.last()?.toString('utf8') ?? '';
    const m = /^\{"alipay_trade_query_response":\{.*\},"alipay_cert_sn":"([^"]*)","sign":"[^"]+"\}$/s.exec(text);
    if (!m) return [`answer is not {node,"alipay_cert_sn","sign"}: ${shorten(text, 300)}`];
    return m[1] === sn ? [] : [`alipay_cert_sn: expected ${sn}, got ${m[1]}`];
  };
  await runCheck('trade_query_paid', 'cert,RSA2', async () => [...(expect(await query(sdk, 'T1001'), PAID) ?? []), ...layout()]);
  await runCheck('trade_query_missing', 'cert,RSA2', async () => [...(expect(await query(sdk, 'T404'), MISSING) ?? []), ...layout()]);
}

async function encrypted() {
  const platformKey = createPublicKey(alipayPublicKey);
  for (const signType of ['RSA2', 'RSA']) {
    const sdk = keySdk(signType, { encryptKey: aesKey });
    for (const [name, outTradeNo, wanted] of [['trade_query_paid', 'T1001', PAID], ['trade_query_missing', 'T404', MISSING]]) {
      await runCheck(name, `aes,${signType}`, async () => {
        // validateSign: false: Node 4.14 cannot verify encrypted answers; verified below.
        const result = await query(sdk, outTradeNo, { params: { needEncrypt: true }, exec: { validateSign: false } });
        const problems = expect(result, wanted) ?? [];
        const text = proxy.last()?.toString('utf8') ?? '';
        const json = JSON.parse(text);
        const node = json.alipay_trade_query_response;
        if (typeof node !== 'string') return [...problems, `the node is not encrypted: ${shorten(text, 200)}`];
        const verifier = createVerify(HASH[signType]);
        verifier.update(`"${node}"`, 'utf8');
        if (!verifier.verify(platformKey, json.sign, 'base64')) problems.push('sign does not verify over the quoted ciphertext');
        return problems;
      });
    }
  }
}

async function wrongPlatformKey() {
  if (!wrongPublicKey) return;
  await runCheck('wrong_platform_key', 'key,RSA2', async () => {
    try {
      const result = await query(keySdk('RSA2', { alipayPublicKey: wrongPublicKey }), 'T1001');
      return `exec() accepted a defined answer verified with the wrong key: ${shorten(JSON.stringify(result))}`;
    } catch (err) {
      if (err instanceof AlipayRequestError && err.message.startsWith('验签失败')) return null;
      throw err;
    }
  });
}

try {
  const examples = join(ROOT, 'examples', 'methods');
  for (const file of readdirSync(examples).filter((f) => f.endsWith('.json')).sort()) {
    const definition = JSON.parse(readFileSync(join(examples, file), 'utf8'));
    await admin('PUT', `methods/${definition.method}`, definition);
  }
  await keyMode();
  await forcedSequence();
  await certMode();
  await encrypted();
  await wrongPlatformKey();
} catch (err) {
  report('driver', '-', `driver crashed: ${shorten(err?.stack ?? err, 800)}`);
} finally {
  proxy.close();
}
finish();
