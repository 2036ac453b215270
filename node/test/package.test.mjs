// The package's own behaviour: binary resolution, lifecycle, tokens, key material.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';

import { adminClient, resolveBinary, startAlipayMock } from 'alipay-mock';

test('a missing binary names the variable and the packed location', () => {
  assert.throws(() => resolveBinary({ ALIPAY_MOCK_BIN: '/nonexistent/alipay-mock' }), /ALIPAY_MOCK_BIN/);
});

test('the packed binary is found when the variable is not set', () => {
  assert.match(resolveBinary({}), /bin[\\/][a-z0-9]+-[a-z0-9]+[\\/]alipay-mock(\.exe)?$/);
});

test('the default app files are the keys the gateway holds', async () => {
  const gw = await startAlipayMock();
  try {
    const app = await gw.app();
    const testKey = await gw.call('GET', `/__admin/apps/${gw.defaultApp.appId}/test-key`);

    assert.equal(app.platform_public_key, gw.defaultApp.alipayPublicKey);
    assert.equal(app.aes_key, gw.defaultApp.aesKey);
    assert.equal(testKey, gw.defaultApp.privateKey);
    assert.equal((await gw.app(gw.certApp.appId)).app_cert, readFileSync(gw.certApp.appCertPath, 'ascii'));
  } finally {
    await gw.stop();
  }
});

test('two gateways have their own ports and stores', async () => {
  const [one, two] = await Promise.all([startAlipayMock(), startAlipayMock()]);
  try {
    await one.revoke('zhangsan');

    assert.notEqual(one.port, two.port);
    const count = async (gw) => (await gw.authorizations({ identity: 'zhangsan' })).length;
    assert.ok((await count(two)) > (await count(one)));
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
});

test('stop frees the port and may be called twice', async () => {
  const gw = await startAlipayMock();

  await gw.stop();
  await gw.stop();

  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = net.connect(gw.port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    }),
    /ECONNREFUSED/,
  );
});

test('a gateway with a token refuses a client without it', async () => {
  const gw = await startAlipayMock({ adminToken: 's3cret' });
  try {
    await gw.reset();

    await assert.rejects(adminClient(gw.url.replace(/\/gateway\.do$/, '')).reset(), { status: 401 });
  } finally {
    await gw.stop();
  }
});

test('force needs exactly one outcome and sends the match and the count', async () => {
  const gw = await startAlipayMock();
  try {
    assert.throws(() => gw.force({}), TypeError);

    const scenario = await gw.force({ authorized: false }, { times: 3, identity: 'zhangsan' });

    assert.equal(scenario.remaining, 3);
    assert.deepEqual(scenario.match, { identity: 'zhangsan' });
    assert.deepEqual((await gw.scenarios()).map((s) => s.id), [scenario.id]);
  } finally {
    await gw.stop();
  }
});

test('a gateway that cannot start reports its stderr', async () => {
  await assert.rejects(startAlipayMock({ args: ['--no-such-flag'] }), /exited[\s\S]*no-such-flag/);
});
