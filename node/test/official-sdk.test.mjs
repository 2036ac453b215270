// The package drives the official Node SDK (npm alipay-sdk) end to end: every call goes
// through sdk.exec(…, { validateSign: true }), which verifies the gateway's answer
// signature with the key the package hands out. Run from a project that installed the
// packed tarball and alipay-sdk (scripts/packages-test.sh).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { AlipaySdk } from 'alipay-sdk';
import { startAlipayMock } from 'alipay-mock';

const ZHANGSAN = { certType: 'IDENTITY_CARD', name: '张三', certNo: '33021199003132432' };
const LISI = { certType: 'IDENTITY_CARD', name: '李四', certNo: '110101199001011001' };

function sdkFor(gw, app = gw.defaultApp) {
  return new AlipaySdk({
    appId: app.appId,
    privateKey: app.privateKeyPkcs1,
    alipayPublicKey: app.alipayPublicKey,
    gateway: gw.url,
    signType: 'RSA2',
  });
}

function authquery(sdk, person) {
  return sdk.exec(
    'zhima.auth.info.authquery',
    { bizContent: { identity_type: '2', identity_param: JSON.stringify(person), auth_category: 'C2B' } },
    { validateSign: true },
  );
}

describe('one gateway for the file, reset before each test', () => {
  let gw;
  let sdk;
  before(async () => {
    gw = await startAlipayMock();
    sdk = sdkFor(gw);
  });
  beforeEach(() => gw.reset());
  after(() => gw.stop());

  test('a seeded authorisation answers authorized with its open_id', async () => {
    const res = await authquery(sdk, ZHANGSAN);

    assert.equal(res.code, '10000');
    assert.equal(res.authorized, true);
    assert.equal(res.openId, '2088202844499224');
  });

  test('a revoked authorisation answers not authorized', async () => {
    assert.equal(await gw.revoke('zhangsan'), 1);

    const res = await authquery(sdk, ZHANGSAN);

    assert.equal(res.authorized, false);
    assert.equal(res.openId, undefined);
  });

  test('a grant makes a person authorised with the open_id given', async () => {
    await gw.grant('lisi', { openId: '2088000000000042' });

    const res = await authquery(sdk, LISI);

    assert.deepEqual([res.authorized, res.openId], [true, '2088000000000042']);
  });

  test('a forced business error answers the next call only', async () => {
    await gw.force('ZM_ACCOUNT_PAUSE');

    const first = await authquery(sdk, ZHANGSAN);
    const second = await authquery(sdk, ZHANGSAN);

    assert.deepEqual([first.code, first.msg, first.subCode], ['40004', 'Business Failed', 'ZM_ACCOUNT_PAUSE']);
    assert.equal(second.authorized, true);
  });

  test('a paused account answers its business error', async () => {
    await gw.setState('zhangsan', 'paused');

    const res = await authquery(sdk, ZHANGSAN);

    assert.equal(res.subCode, 'ZM_ACCOUNT_PAUSE');
  });

  test('the journal shows what the SDK sent, identity data masked', async () => {
    await authquery(sdk, ZHANGSAN);

    const [entry, ...more] = await gw.requests({ method: 'zhima.auth.info.authquery' });

    assert.equal(more.length, 0);
    assert.equal(entry.app_id, '2014072300007148');
    assert.equal(entry.params.sign_type, 'RSA2');
    assert.equal(entry.signature.verified, true);
    assert.deepEqual(entry.outcome, { code: '10000' });
    const sent = JSON.parse(JSON.parse(entry.params.biz_content).identity_param);
    assert.notEqual(sent.certNo, ZHANGSAN.certNo);
    assert.match(sent.certNo, /^330.*2432$/);
  });

  test('a scenario for some seconds ends when the clock moves past it', async () => {
    await gw.clock.freeze('2026-01-01T10:00:00+08:00');
    await gw.force('SYSTEM_ERROR', { forSeconds: 60 });
    const during = await authquery(sdk, ZHANGSAN);

    await gw.clock.freeze(new Date('2026-01-01T02:01:01Z'));
    const after = await authquery(sdk, ZHANGSAN);

    assert.equal(during.subCode, 'SYSTEM_ERROR');
    assert.equal(after.authorized, true);
  });

  test('an answer signed with a wrong key is refused by the SDK', async () => {
    await gw.setFaults({ seed: 1, hostile: 'wrong_key' });

    await assert.rejects(authquery(sdk, ZHANGSAN), /sign/i);
  });

  test('an admin error carries the gateway message and status', async () => {
    await assert.rejects(gw.setState('nobody', 'paused'), (error) => {
      assert.equal(error.name, 'AlipayMockError');
      assert.equal(error.status, 404);
      assert.equal(error.adminMessage, 'no identity "nobody"');
      return true;
    });
  });
});

test('a frozen clock decides whether the SDK timestamp is in the window', async () => {
  const gw = await startAlipayMock({ args: ['--timestamp-window', '15'] });
  try {
    const sdk = sdkFor(gw);
    // The SDK stamps requests with local time, which the gateway reads as Beijing time.
    const local = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000);
    const beijing = (d) => `${d.toISOString().slice(0, 19)}+08:00`;
    await gw.clock.freeze(beijing(local));
    const inside = await authquery(sdk, ZHANGSAN);

    await gw.clock.freeze(beijing(new Date(local.getTime() + 3_600_000)));
    const outside = await authquery(sdk, ZHANGSAN);

    assert.equal(inside.authorized, true);
    assert.deepEqual([outside.code, outside.subCode], ['40002', 'isv.invalid-timestamp']);
  } finally {
    await gw.stop();
  }
});

test('the certificate-mode app works with the certificate files the package ships', async () => {
  const gw = await startAlipayMock();
  try {
    const { certApp } = gw;
    const sdk = new AlipaySdk({
      appId: certApp.appId,
      privateKey: certApp.privateKey,
      keyType: 'PKCS8',
      appCertPath: certApp.appCertPath,
      alipayPublicCertPath: certApp.alipayPublicCertPath,
      alipayRootCertPath: certApp.alipayRootCertPath,
      gateway: gw.url,
      signType: 'RSA2',
    });

    const res = await authquery(sdk, ZHANGSAN);

    assert.equal(res.authorized, true);
    assert.equal(res.openId, '2088202844490301');
    const [entry] = await gw.requests({ appId: certApp.appId });
    assert.equal(entry.params.app_cert_sn, '77e530a7ec6e44bd6249f3c671916a12');
  } finally {
    await gw.stop();
  }
});
