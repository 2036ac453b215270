// Method definitions and notifications through the package (issues 17 and 18). These
// admin endpoints arrive with later gateway versions; on a gateway that answers
// `404 no admin endpoint` for them the tests are skipped, saying so.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, test } from 'node:test';

import { AlipaySdk } from 'alipay-sdk';
import { startAlipayMock } from 'alipay-mock';

let gw;
let sdk;
before(async () => {
  gw = await startAlipayMock();
  sdk = new AlipaySdk({ appId: gw.defaultApp.appId, privateKey: gw.defaultApp.privateKeyPkcs1,
    alipayPublicKey: gw.defaultApp.alipayPublicKey, gateway: gw.url, signType: 'RSA2' });
});
beforeEach(() => gw.reset());
after(() => gw.stop());

/** Runs an admin call; skips the test when the gateway has no such endpoint yet. */
async function orSkip(t, call) {
  try {
    return await call();
  } catch (error) {
    if (error.status === 404 && error.adminMessage.startsWith('no admin endpoint')) {
      t.skip(`this gateway has no ${error.path} yet (added by a later version)`);
      return undefined;
    }
    throw error;
  }
}

const TRADE_QUERY = {
  method: 'alipay.trade.query',
  rules: [
    { when: { out_trade_no: 'T1001' }, answer: { out_trade_no: '{{biz.out_trade_no}}', trade_status: 'TRADE_SUCCESS' } },
    { error: { sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在' } },
  ],
};
const tradeQuery = (outTradeNo) =>
  sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: outTradeNo } }, { validateSign: true });

test('a defined method answers the SDK by its rules', async (t) => {
  const stored = await orSkip(t, () => gw.defineMethod(TRADE_QUERY));
  if (!stored) return;

  const paid = await tradeQuery('T1001');
  const missing = await tradeQuery('T404');

  assert.deepEqual([paid.code, paid.tradeStatus, paid.outTradeNo], ['10000', 'TRADE_SUCCESS', 'T1001']);
  assert.deepEqual([missing.code, missing.subCode], ['40004', 'ACQ.TRADE_NOT_EXIST']);
  assert.deepEqual((await gw.methods()).map((d) => d.method), ['alipay.trade.query']);
});

test('a deleted method is an invalid method again', async (t) => {
  if (!(await orSkip(t, () => gw.defineMethod(TRADE_QUERY)))) return;

  await gw.deleteMethod('alipay.trade.query');

  assert.equal((await tradeQuery('T1001')).subCode, 'isv.invalid-method');
  await assert.rejects(gw.methodDefinition('alipay.trade.query'), { status: 404 });
});

// A merchant's notification handler: answers `success` and keeps the forms it got.
let received = [];
const handler = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    received.push(Object.fromEntries(new URLSearchParams(body)));
    res.end('success');
  });
});
before(() => new Promise((resolve) => handler.listen(0, '127.0.0.1', resolve)));
beforeEach(() => { received = []; });
after(() => new Promise((resolve) => {
  handler.close(resolve);
  handler.closeAllConnections(); // the gateway's client may keep its connection open
}));
const notifyUrl = () => `http://127.0.0.1:${handler.address().port}/alipay/notify`;

test('a notification reaches the handler and the SDK verifies it', async (t) => {
  const created = await orSkip(t, () => gw.notify({ notifyUrl: notifyUrl(),
    params: { notify_type: 'trade_status_sync', out_trade_no: 'T1001', trade_status: 'TRADE_SUCCESS' } }));
  if (!created) return;

  const deadline = Date.now() + 10_000;
  while ((await gw.notification(created.id)).state !== 'delivered' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  assert.equal((await gw.notification(created.id)).state, 'delivered');
  assert.equal(received.length, 1);
  assert.equal(received[0].out_trade_no, 'T1001');
  assert.equal(sdk.checkNotifySignV2(received[0]), true);
  assert.deepEqual((await gw.notifications({ state: 'delivered' })).map((n) => n.id), [created.id]);
});

test('a delayed notification can be sent now or cancelled', async (t) => {
  const first = await orSkip(t, () => gw.notify({ notifyUrl: notifyUrl(), params: { out_trade_no: 'T1' }, delaySeconds: 3600 }));
  if (!first) return;
  const second = await gw.notify({ notifyUrl: notifyUrl(), params: { out_trade_no: 'T2' }, delaySeconds: 3600 });

  const retried = await gw.retryNotification(first.id);
  await gw.cancelNotification(second.id);

  assert.equal(retried.state, 'delivered');
  assert.deepEqual(received.map((form) => form.out_trade_no), ['T1']);
  assert.deepEqual((await gw.notifications()).map((n) => n.id), [first.id]);
});
