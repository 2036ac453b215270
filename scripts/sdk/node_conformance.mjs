// Conformance driver for the official Node.js SDK (npm alipay-sdk 4.14.0).
//
// Run by scripts/sdk-conformance.sh with the SDK installed in .sdk/node.
// For every case of `alipay-mock cases --json` and every variant of the matrix
// it calls zhima.auth.info.authquery through
//     sdk.exec(method, { bizContent }, { validateSign: true })
// (response-signature verification is OFF unless validateSign is passed) and
// compares the result with the case's `expect`.  Prints one line per check:
//
//     PASS node <case> [<variant>]
//     FAIL node <case> [<variant>] : <why>
//
// and exits 0 only when every check passed.
//
// Environment (set by the shell script):
//     SDK_NODE_DIR    .sdk/node (npm --prefix folder holding node_modules/alipay-sdk)
//     GATEWAY_URL     http://127.0.0.1:PORT/gateway.do
//     CASES_FILE      output of `alipay-mock cases --json`
//     KEYS_DIR        fixtures/keys
//     WRONG_KEY_DIR   run-time generated keys: wrong_app_private_key_pkcs8.pem,
//                     wrong_app_private_key_pkcs1.pem, wrong_public_key.pem
//
// The SDK's charset option is declarative only (it signs and decodes UTF-8,
// see docs/sdk-notes.md), so this driver runs charset utf-8 only.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

const SDK = 'node';
const METHOD = 'zhima.auth.info.authquery';
const SIGN_TYPES = ['RSA2', 'RSA'];
const CHARSET = 'utf-8';
const DEFAULT_APP_ID = '2014072300007148';
const TIMEOUT_MS = 15000;
// expect key (gateway, snake_case) -> key in the SDK's result (camelcase: true, the default)
const COMPARED_KEYS = {
  code: 'code',
  msg: 'msg',
  sub_code: 'subCode',
  sub_msg: 'subMsg',
  authorized: 'authorized',
  open_id: 'openId',
};

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const sdkRequire = createRequire(join(env('SDK_NODE_DIR'), 'package.json'));
const { AlipaySdk, AlipayRequestError } = sdkRequire('alipay-sdk');
// the very snake-casing module the SDK applies to bizContent
const snakeCaseKeys = createRequire(sdkRequire.resolve('alipay-sdk'))('snakecase-keys');

const gateway = env('GATEWAY_URL');
const keysDir = env('KEYS_DIR');
const wrongDir = env('WRONG_KEY_DIR');
const cases = JSON.parse(readFileSync(env('CASES_FILE'), 'utf8'));

const read = (path) => readFileSync(path, 'ascii');
// PEM armour stripped, one line of base64, as pasted from the open platform console
const bare = (pem) => pem.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('-----')).join('');
const oneLine = (text) => String(text).replace(/\s+/g, ' ').trim();
const shorten = (text, limit = 600) => {
  const t = oneLine(text);
  return t.length <= limit ? t : `${t.slice(0, limit)}…`;
};
const show = (value) => (value === undefined ? 'absent' : JSON.stringify(value));

const appPkcs8 = read(join(keysDir, 'app_private_key.pem'));
const appPkcs1 = read(join(keysDir, 'app_private_key_pkcs1.pem'));
const appPublic = read(join(keysDir, 'app_public_key.pem'));
const alipayPublic = read(join(keysDir, 'alipay_public_key.pem'));
const wrongPkcs8 = read(join(wrongDir, 'wrong_app_private_key_pkcs8.pem'));
const wrongPkcs1 = read(join(wrongDir, 'wrong_app_private_key_pkcs1.pem'));
const wrongPublic = read(join(wrongDir, 'wrong_public_key.pem'));

// Every key format the SDK documents: PKCS#1 (keyType default 'PKCS1') and PKCS#8
// (keyType: 'PKCS8'), each PEM and bare; the platform key (SPKI) PEM in some
// variants, bare in the others.
const KEY_VARIANTS = [
  { label: 'PKCS1-PEM', privateKey: appPkcs1, keyType: undefined, pubLabel: 'pub-PEM', alipayPublicKey: alipayPublic },
  { label: 'PKCS1-bare', privateKey: bare(appPkcs1), keyType: undefined, pubLabel: 'pub-bare', alipayPublicKey: bare(alipayPublic) },
  { label: 'PKCS8-PEM', privateKey: appPkcs8, keyType: 'PKCS8', pubLabel: 'pub-bare', alipayPublicKey: bare(alipayPublic) },
  { label: 'PKCS8-bare', privateKey: bare(appPkcs8), keyType: 'PKCS8', pubLabel: 'pub-PEM', alipayPublicKey: alipayPublic },
];

function makeSdk({ appId, signType, privateKey, keyType, alipayPublicKey }) {
  const config = {
    appId,
    privateKey,
    signType,
    alipayPublicKey,
    gateway,
    charset: CHARSET,
    timeout: TIMEOUT_MS,
  };
  if (keyType) config.keyType = keyType;
  return new AlipaySdk(config);
}

async function call(sdk, bizContent) {
  return await sdk.exec(METHOD, { bizContent }, { validateSign: true });
}

function compare(expect, result) {
  const problems = [];
  for (const [key, resultKey] of Object.entries(COMPARED_KEYS)) {
    const got = result[resultKey];
    if (Object.hasOwn(expect, key)) {
      if (!Object.hasOwn(result, resultKey)) {
        problems.push(`${key}: expected ${show(expect[key])}, got absent`);
      } else if (!isDeepStrictEqual(got, expect[key])) {
        problems.push(`${key}: expected ${show(expect[key])}, got ${show(got)}`);
      }
    } else if (Object.hasOwn(result, resultKey)) {
      problems.push(`${key}: expected absent, got ${show(got)}`);
    }
  }
  return problems;
}

let passed = 0;
let failed = 0;
function report(name, variant, why) {
  if (why == null) {
    passed += 1;
    console.log(`PASS ${SDK} ${name} [${variant}]`);
  } else {
    failed += 1;
    console.log(`FAIL ${SDK} ${name} [${variant}] : ${oneLine(why)}`);
  }
}

function describeError(err) {
  const raw = err?.responseDataRaw ? ` | body: ${shorten(err.responseDataRaw)}` : '';
  const cause = err?.cause ? ` (cause: ${err.cause.message ?? err.cause})` : '';
  return `${err?.name ?? 'Error'}: ${shorten(err?.message ?? err, 400)}${cause}${raw}`;
}

async function runCheck(name, variant, fn) {
  let why;
  try {
    why = await fn();
  } catch (err) {
    why = describeError(err);
    if (process.env.SDK_CONFORMANCE_DEBUG) console.error(err);
  }
  report(name, variant, why);
}

async function main() {
  if (!Array.isArray(cases) || cases.length === 0) {
    report('cases', '-', '`alipay-mock cases --json` gave no cases');
    return;
  }

  // ---- every case × sign_type × key format ----
  for (const signType of SIGN_TYPES) {
    for (const kv of KEY_VARIANTS) {
      const variant = [signType, CHARSET, kv.label, kv.pubLabel].join(',');
      const sdkByApp = new Map();
      for (const c of cases) {
        const signTypes = c.sign_types ?? SIGN_TYPES;
        if (!signTypes.includes(signType)) continue;
        await runCheck(c.name, variant, async () => {
          if ((c.method ?? METHOD) !== METHOD) return `unsupported method ${c.method}`;
          // The SDK deep-snake-cases bizContent before JSON.stringify; make sure
          // that leaves the case's biz_content unchanged in meaning.
          const sent = snakeCaseKeys(c.biz_content);
          if (!isDeepStrictEqual(sent, c.biz_content)) {
            return `the SDK would send biz_content ${JSON.stringify(sent)}, not ${JSON.stringify(c.biz_content)}`;
          }
          if (!sdkByApp.has(c.app_id)) {
            sdkByApp.set(c.app_id, makeSdk({ appId: c.app_id, signType, ...kv }));
          }
          const result = await call(sdkByApp.get(c.app_id), c.biz_content);
          const problems = compare(c.expect, result);
          return problems.length ? `${problems.join('; ')} | SDK result: ${shorten(JSON.stringify(result))}` : null;
        });
      }
    }
  }

  const byName = new Map(cases.map((c) => [c.name, c]));

  // ---- negative (a): a wrong platform public key must make exec() reject ----
  const wrongPublics = [
    { label: 'app_public_key.pem', key: appPublic },
    { label: 'generated-key', key: wrongPublic },
  ];
  for (const baseName of ['authorized_cert', 'account_not_certified']) {
    const base = byName.get(baseName);
    for (const signType of SIGN_TYPES) {
      for (const wp of wrongPublics) {
        const variant = [signType, CHARSET, wp.label, baseName].join(',');
        await runCheck('wrong_alipay_public_key', variant, async () => {
          if (!base) return `case ${baseName} is missing from the catalogue`;
          const sdk = makeSdk({
            appId: base.app_id, signType, privateKey: appPkcs1, alipayPublicKey: wp.key,
          });
          let result;
          try {
            result = await call(sdk, base.biz_content);
          } catch (err) {
            if (err instanceof AlipayRequestError && err.message.startsWith('验签失败')) return null;
            return `rejected, but not as a signature failure: ${describeError(err)}`;
          }
          return `exec() accepted a response verified with the wrong key: ${shorten(JSON.stringify(result))}`;
        });
      }
    }
  }

  // ---- negative (b): request signed with a wrong app key → 40002 isv.invalid-signature, signed ----
  const base = byName.get('authorized_cert');
  const wrongKeys = [
    { label: 'generated-PKCS1', privateKey: wrongPkcs1, keyType: undefined },
    { label: 'generated-PKCS8', privateKey: wrongPkcs8, keyType: 'PKCS8' },
  ];
  for (const signType of SIGN_TYPES) {
    for (const wk of wrongKeys) {
      const variant = [signType, CHARSET, wk.label].join(',');
      await runCheck('wrong_app_private_key', variant, async () => {
        if (!base) return 'case authorized_cert is missing from the catalogue';
        const sdk = makeSdk({
          appId: DEFAULT_APP_ID, signType, privateKey: wk.privateKey, keyType: wk.keyType, alipayPublicKey: alipayPublic,
        });
        const result = await call(sdk, base.biz_content);
        const problems = [];
        for (const [key, want] of [['code', '40002'], ['msg', 'Invalid Arguments'], ['subCode', 'isv.invalid-signature']]) {
          if (result[key] !== want) problems.push(`${key}: expected ${show(want)}, got ${show(result[key])}`);
        }
        if (typeof result.subMsg !== 'string' || result.subMsg === '') {
          problems.push(`subMsg: expected a non-empty string, got ${show(result.subMsg)}`);
        }
        for (const key of ['authorized', 'openId']) {
          if (Object.hasOwn(result, key)) problems.push(`${key}: expected absent, got ${show(result[key])}`);
        }
        return problems.length ? `${problems.join('; ')} | SDK result: ${shorten(JSON.stringify(result))}` : null;
      });
    }
  }
}

try {
  await main();
} catch (err) {
  report('driver', '-', `driver crashed: ${describeError(err)}`);
}
console.error(`# ${SDK}: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
