// Certificate-mode and AES conformance driver for the official Node.js SDK
// (npm alipay-sdk 4.14.0), issue 8.
//
//     node scripts/sdk/node_cert_conformance.mjs http://127.0.0.1:PORT/gateway.do
//
// Environment (optional):
//     SDK_NODE_DIR   npm --prefix folder holding node_modules/alipay-sdk (default .sdk/node,
//                    installed by scripts/sdk-conformance.sh)
//     CASES_FILE     the catalogue (default fixtures/cases.json; `alipay-mock cases --json`
//                    prints the same)
//     SDK_CONFORMANCE_DEBUG=1   stack traces of failing checks on stderr
//
// Needs `openssl` on PATH (it makes the wrong certificates of the negative checks).
//
// Checks, one line each (`PASS node-cert <check> [<variant>]` / `FAIL … : <why>`), then
// `N passed, N failed` alone on the last line; exit 0 only when nothing failed:
//   1. cert mode: every catalogue case of the default app, sent as the certificate-mode
//      app 2021000000000003 (fixtures/certs/), `exec(..., {validateSign: true})`, must
//      give the same code, msg, sub_code, sub_msg and authorized as the default app; an
//      open_id exactly when the case has one, of the app's own (not the default app's).
//      The raw answer must carry `"alipay_cert_sn":"<platform cert SN>"` between the
//      node and `sign`. Two configurations: file paths + PKCS#1 key, contents + PKCS#8.
//   2. AES: every catalogue case of the default app with `needEncrypt: true` and the key
//      fixtures/keys/aes_key.txt, RSA2 and RSA. Node 4.14 cannot verify encrypted
//      answers (its getSignStr looks for `{…}`; SDK defect, docs/protocol.md §5), so
//      these run with `validateSign: false` and the driver verifies the raw answer
//      itself: the node must be a JSON string and `sign` must verify over that string
//      *with its quotes* with the platform public key (fixtures/keys/alipay_public_key.pem).
//      The SDK's decrypted result is compared with the case's expect.
//   3. negatives: an app certificate the gateway does not hold → 40002
//      isv.app-cert-not-exist; a root bundle with another SN → 40002
//      isv.invalid-alipay-root-cert-sn; a wrong AES key → 40003
//      isv.decryption-error-unknown (plaintext node, signed); an AES request for an app
//      without an AES key → 40001 isv.missing-encrypt-key; an SDK configured with
//      another platform certificate rejects the answer (验签失败).
//
// The SDK's HTTP goes through a recording pass-through proxy inside this process (bytes
// unchanged both ways), because exec() does not return the raw body the checks need.

import { execFileSync } from 'node:child_process';
import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const SDK = 'node-cert';
const METHOD = 'zhima.auth.info.authquery';
const NODE_KEY = `${METHOD.replaceAll('.', '_')}_response`;
const DEFAULT_APP_ID = '2014072300007148';
const CERT_APP_ID = '2021000000000003';
const NO_AES_APP_ID = '2021000000000002';
// Alipay's certificate mode is RSA2 only; AES runs with both sign types.
const CERT_SIGN_TYPES = ['RSA2'];
const AES_SIGN_TYPES = ['RSA2', 'RSA'];
const CHARSET = 'utf-8';
const TIMEOUT_MS = 15000;
const HASH = { RSA2: 'RSA-SHA256', RSA: 'RSA-SHA1' };
const COMPARED_KEYS = { code: 'code', msg: 'msg', sub_code: 'subCode', sub_msg: 'subMsg', authorized: 'authorized' };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gateway = process.argv[2];
if (!gateway || !/^https?:\/\//.test(gateway)) {
  console.error('usage: node scripts/sdk/node_cert_conformance.mjs http://HOST:PORT/gateway.do');
  console.log('0 passed, 1 failed');
  process.exit(2);
}
const sdkDir = process.env.SDK_NODE_DIR || join(ROOT, '.sdk', 'node');
const casesFile = process.env.CASES_FILE || join(ROOT, 'fixtures', 'cases.json');
const certsDir = join(ROOT, 'fixtures', 'certs');
const keysDir = join(ROOT, 'fixtures', 'keys');

const sdkRequire = createRequire(join(sdkDir, 'package.json'));
const { AlipaySdk, AlipayRequestError } = sdkRequire('alipay-sdk');

const read = (path) => readFileSync(path, 'ascii');
const oneLine = (text) => String(text).replace(/\s+/g, ' ').trim();
const shorten = (text, limit = 500) => {
  const t = oneLine(text);
  return t.length <= limit ? t : `${t.slice(0, limit)}…`;
};
const show = (value) => (value === undefined ? 'absent' : JSON.stringify(value));

const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const cert = {
  appKeyPkcs1: read(join(certsDir, 'app_private_key_pkcs1.pem')),
  appKeyPkcs8: read(join(certsDir, 'app_private_key.pem')),
  appCertPath: join(certsDir, 'app_cert_public_key.crt'),
  platformCertPath: join(certsDir, 'alipay_cert_public_key_rsa2.crt'),
  rootCertPath: join(certsDir, 'alipay_root_cert.crt'),
  rootKeyPath: join(certsDir, 'test_only_root_ca_private_key.pem'),
};
const appKeyPkcs1 = read(join(keysDir, 'app_private_key_pkcs1.pem'));
const alipayPublicKey = read(join(keysDir, 'alipay_public_key.pem'));
const aesKey = read(join(keysDir, 'aes_key.txt')).trim();

// ---------------------------------------------------------------- recording proxy
let lastBody = null;
const target = new URL(gateway);
const proxy = http.createServer((req, res) => {
  const headers = { ...req.headers, host: target.host };
  const upstream = http.request(
    { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers },
    (up) => {
      const chunks = [];
      up.on('data', (c) => chunks.push(c));
      up.on('end', () => {
        lastBody = Buffer.concat(chunks);
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.end(lastBody);
      });
    },
  );
  upstream.on('error', (err) => {
    lastBody = null;
    res.writeHead(502);
    res.end(`proxy: ${err.message}`);
  });
  req.pipe(upstream);
});
await new Promise((ok) => proxy.listen(0, '127.0.0.1', ok));
const proxyUrl = `http://127.0.0.1:${proxy.address().port}${target.pathname}`;

// ---------------------------------------------------------------- wrong certificates
const work = mkdtempSync(join(tmpdir(), 'node-cert-'));
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const firstRootPath = join(work, 'first_root.crt');
const unknownAppCertPath = join(work, 'unknown_app_cert.crt');
const strangerCertPath = join(work, 'stranger_platform_cert.crt');
function makeWrongCerts() {
  // The first root of the bundle alone: a bundle with another root SN.
  writeFileSync(firstRootPath, read(cert.rootCertPath).split(/\n\s*\n/)[0].trim() + '\n');
  // The app's own key in a certificate from the same root with a fresh serial: the
  // signature is right, only app_cert_sn is unknown to the gateway.
  openssl('req', '-new', '-key', join(certsDir, 'app_private_key.pem'),
    '-subj', `/C=CN/O=alipay-mock/OU=Test App Public Key/CN=${CERT_APP_ID}`, '-out', join(work, 'app.csr'));
  openssl('x509', '-req', '-in', join(work, 'app.csr'), '-CA', firstRootPath, '-CAkey', cert.rootKeyPath,
    '-set_serial', `0x${randomBytes(15).toString('hex')}`, '-days', '3650', '-sha256', '-out', unknownAppCertPath);
  // A platform certificate with a fresh key nobody signs answers with.
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'stranger.key'),
    '-subj', '/C=CN/O=Stranger/OU=Not Alipay/CN=Stranger Platform', '-days', '3650', '-sha256', '-out', strangerCertPath);
}

// ---------------------------------------------------------------- SDK set-ups
const CERT_VARIANTS = [
  {
    label: 'paths,PKCS1',
    config: () => ({
      privateKey: cert.appKeyPkcs1,
      appCertPath: cert.appCertPath,
      alipayPublicCertPath: cert.platformCertPath,
      alipayRootCertPath: cert.rootCertPath,
    }),
  },
  {
    label: 'contents,PKCS8',
    config: () => ({
      privateKey: cert.appKeyPkcs8,
      keyType: 'PKCS8',
      appCertContent: read(cert.appCertPath),
      alipayPublicCertContent: read(cert.platformCertPath),
      alipayRootCertContent: read(cert.rootCertPath),
    }),
  },
];

function makeSdk(appId, signType, extra) {
  return new AlipaySdk({ appId, signType, gateway: proxyUrl, charset: CHARSET, timeout: TIMEOUT_MS, ...extra });
}

const certSdk = (signType, extra) => makeSdk(CERT_APP_ID, signType, { ...CERT_VARIANTS[0].config(), ...extra });

// ---------------------------------------------------------------- checks
function compare(expect, result, keys = COMPARED_KEYS) {
  const problems = [];
  for (const [key, resultKey] of Object.entries(keys)) {
    const got = result[resultKey];
    if (Object.hasOwn(expect, key)) {
      if (!isDeepStrictEqual(got, expect[key])) problems.push(`${key}: expected ${show(expect[key])}, got ${show(got)}`);
    } else if (Object.hasOwn(result, resultKey)) {
      problems.push(`${key}: expected absent, got ${show(got)}`);
    }
  }
  return problems;
}

/** The raw answer as text and parsed; throws when there is none. */
function lastAnswer() {
  if (!lastBody) throw new Error('no answer recorded by the proxy');
  const text = lastBody.toString('utf8');
  return { text, json: JSON.parse(text) };
}

/** Cert-mode layout: node, then alipay_cert_sn, then sign (docs/protocol.md §3.2). */
function certLayoutProblems(text, expectedSn) {
  const m = /^\{"[a-z_]+_response":(?:\{.*\}|".*"),"alipay_cert_sn":"([^"]*)","sign":"[^"]+"\}$/s.exec(text);
  if (!m) return [`answer is not {node,"alipay_cert_sn","sign"}: ${shorten(text, 300)}`];
  return m[1] === expectedSn ? [] : [`alipay_cert_sn: expected ${expectedSn}, got ${m[1]}`];
}

let passed = 0;
let failed = 0;
function report(name, variant, why) {
  if (why == null || (Array.isArray(why) && why.length === 0)) {
    passed += 1;
    console.log(`PASS ${SDK} ${name} [${variant}]`);
  } else {
    failed += 1;
    console.log(`FAIL ${SDK} ${name} [${variant}] : ${oneLine(Array.isArray(why) ? why.join('; ') : why)}`);
  }
}

function describeError(err) {
  const raw = err?.responseDataRaw ? ` | body: ${shorten(err.responseDataRaw)}` : '';
  return `${err?.name ?? 'Error'}: ${shorten(err?.message ?? err, 400)}${raw}`;
}

async function runCheck(name, variant, fn) {
  let why;
  lastBody = null;
  try {
    why = await fn();
  } catch (err) {
    why = describeError(err);
    if (process.env.SDK_CONFORMANCE_DEBUG) console.error(err);
  }
  report(name, variant, why);
}

function expectError(result, code, msg, subCode) {
  const problems = [];
  for (const [key, want] of [['code', code], ['msg', msg], ['subCode', subCode]]) {
    if (result[key] !== want) problems.push(`${key}: expected ${show(want)}, got ${show(result[key])}`);
  }
  if (typeof result.subMsg !== 'string' || result.subMsg === '') problems.push(`subMsg: expected text, got ${show(result.subMsg)}`);
  for (const key of ['authorized', 'openId']) {
    if (Object.hasOwn(result, key)) problems.push(`${key}: expected absent, got ${show(result[key])}`);
  }
  return problems;
}

const defaultCases = cases.filter((c) => c.app_id === DEFAULT_APP_ID && (c.method ?? METHOD) === METHOD);
const byName = new Map(cases.map((c) => [c.name, c]));

async function certModeCases() {
  for (const signType of CERT_SIGN_TYPES) {
    for (const v of CERT_VARIANTS) {
      const sdk = makeSdk(CERT_APP_ID, signType, v.config());
      const platformSn = sdk.config.alipayCertSn;
      for (const c of defaultCases) {
        if (!(c.sign_types ?? [signType]).includes(signType)) continue;
        await runCheck(c.name, `cert,${signType},${v.label}`, async () => {
          const result = await sdk.exec(METHOD, { bizContent: c.biz_content }, { validateSign: true });
          const problems = compare(c.expect, result);
          // open_id: present exactly when the default app gets one, and the cert app's own.
          if (Object.hasOwn(c.expect, 'open_id')) {
            if (typeof result.openId !== 'string' || !/^2088\d{12}$/.test(result.openId)) {
              problems.push(`open_id: expected the cert app's 2088… id, got ${show(result.openId)}`);
            } else if (result.openId === c.expect.open_id) {
              problems.push(`open_id: got the default app's ${result.openId}; open_ids are per app`);
            }
          } else if (Object.hasOwn(result, 'openId')) {
            problems.push(`open_id: expected absent, got ${show(result.openId)}`);
          }
          problems.push(...certLayoutProblems(lastAnswer().text, platformSn));
          return problems.length ? [...problems, `SDK result: ${shorten(JSON.stringify(result))}`] : null;
        });
      }
    }
  }
}

async function aesCases() {
  const platformKey = createPublicKey(alipayPublicKey);
  for (const signType of AES_SIGN_TYPES) {
    const sdk = makeSdk(DEFAULT_APP_ID, signType, { privateKey: appKeyPkcs1, alipayPublicKey, encryptKey: aesKey });
    for (const c of defaultCases) {
      if (!(c.sign_types ?? [signType]).includes(signType)) continue;
      await runCheck(c.name, `aes,${signType}`, async () => {
        // validateSign: false — Node 4.14 cannot verify encrypted answers; see the header.
        const result = await sdk.exec(METHOD, { bizContent: c.biz_content, needEncrypt: true }, { validateSign: false });
        const problems = compare(c.expect, result, { ...COMPARED_KEYS, open_id: 'openId' });
        const { text, json } = lastAnswer();
        const node = json[NODE_KEY];
        if (typeof node !== 'string') {
          problems.push(`the answer node is not encrypted (a JSON string): ${shorten(text, 300)}`);
        } else {
          // The signed text is the node's JSON string token, quotes included, as sent.
          const token = `"${node}"`;
          const at = text.indexOf(`"${NODE_KEY}":${token}`);
          if (at < 0) problems.push('the ciphertext is not written as a plain JSON string (escapes?)');
          const verifier = createVerify(HASH[signType]);
          verifier.update(token, 'utf8');
          if (typeof json.sign !== 'string' || !verifier.verify(platformKey, json.sign, 'base64')) {
            problems.push(`sign does not verify over the quoted ciphertext with ${signType}`);
          }
          if (Object.hasOwn(json, 'alipay_cert_sn')) problems.push('alipay_cert_sn in a key-mode answer');
        }
        return problems.length ? [...problems, `SDK result: ${shorten(JSON.stringify(result))}`] : null;
      });
    }
  }
}

async function negatives() {
  const base = byName.get('authorized_cert');
  if (!base) {
    report('negatives', '-', 'case authorized_cert is missing from the catalogue');
    return;
  }
  const bizContent = base.biz_content;
  try {
    makeWrongCerts();
  } catch (err) {
    // Reported once; the certificate negatives cannot run without these files.
    report('wrong_certificates', '-', `openssl could not make them: ${describeError(err)}`);
    return;
  }

  await runCheck('unknown_app_cert', 'cert,RSA2', async () => {
    const sdk = certSdk('RSA2', { appCertPath: unknownAppCertPath });
    const result = await sdk.exec(METHOD, { bizContent }, { validateSign: true });
    return expectError(result, '40002', 'Invalid Arguments', 'isv.app-cert-not-exist');
  });

  await runCheck('wrong_root_cert_bundle', 'cert,RSA2,first root only', async () => {
    const sdk = certSdk('RSA2', { alipayRootCertPath: firstRootPath });
    const right = certSdk('RSA2', {});
    if (sdk.config.alipayRootCertSn === right.config.alipayRootCertSn) return 'the wrong bundle has the same root SN';
    const result = await sdk.exec(METHOD, { bizContent }, { validateSign: true });
    return expectError(result, '40002', 'Invalid Arguments', 'isv.invalid-alipay-root-cert-sn');
  });

  for (const [label, path] of [['app cert as platform cert', cert.appCertPath], ['stranger cert', strangerCertPath]]) {
    await runCheck('wrong_platform_cert', `cert,RSA2,${label}`, async () => {
      const sdk = certSdk('RSA2', { alipayPublicCertPath: path });
      let result;
      try {
        result = await sdk.exec(METHOD, { bizContent }, { validateSign: true });
      } catch (err) {
        if (err instanceof AlipayRequestError && err.message.startsWith('验签失败')) return null;
        return `rejected, but not as a signature failure: ${describeError(err)}`;
      }
      return `exec() accepted an answer verified with another platform certificate: ${shorten(JSON.stringify(result))}`;
    });
  }

  for (const signType of AES_SIGN_TYPES) {
    await runCheck('wrong_aes_key', `aes,${signType}`, async () => {
      const wrongKey = randomBytes(16).toString('base64');
      const sdk = makeSdk(DEFAULT_APP_ID, signType, { privateKey: appKeyPkcs1, alipayPublicKey, encryptKey: wrongKey });
      // The gateway cannot decrypt, so it answers in plaintext, signed: validateSign works.
      const result = await sdk.exec(METHOD, { bizContent, needEncrypt: true }, { validateSign: true });
      const problems = expectError(result, '40003', 'Insufficient Conditions', 'isv.decryption-error-unknown');
      if (typeof lastAnswer().json[NODE_KEY] !== 'object') problems.push('the error node is not a plaintext object');
      return problems;
    });
  }

  await runCheck('aes_without_app_key', `aes,RSA2,app ${NO_AES_APP_ID}`, async () => {
    const sdk = makeSdk(NO_AES_APP_ID, 'RSA2', { privateKey: appKeyPkcs1, alipayPublicKey, encryptKey: aesKey });
    const result = await sdk.exec(METHOD, { bizContent, needEncrypt: true }, { validateSign: true });
    return expectError(result, '40001', 'Missing Required Arguments', 'isv.missing-encrypt-key');
  });
}

try {
  if (defaultCases.length === 0) report('cases', '-', `no case of app ${DEFAULT_APP_ID} in ${casesFile}`);
  await certModeCases();
  await aesCases();
  await negatives();
} catch (err) {
  report('driver', '-', `driver crashed: ${describeError(err)}`);
} finally {
  proxy.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
