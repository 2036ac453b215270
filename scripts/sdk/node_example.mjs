// The API document's example of zhima.auth.info.authquery (张三, certNo 33021199003132432,
// C2B, app 2014072300007148) through the official Node SDK (npm alipay-sdk, installed in
// .sdk/node by scripts/sdk/install.sh), with the SDK's response signature check on.
//
// Run by scripts/image-test.sh against the container. Prints the SDK's result as JSON on
// stdout and exits 0 only for code 10000 with authorized true; any other answer, a
// signature the SDK rejects or a transport error exits 1 with the reason on stderr.
//
// Environment: SDK_NODE_DIR (.sdk/node), GATEWAY_URL (http://127.0.0.1:PORT/gateway.do),
// KEYS_DIR (fixtures/keys).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const sdkRequire = createRequire(join(env('SDK_NODE_DIR'), 'package.json'));
const { AlipaySdk } = sdkRequire('alipay-sdk');
const keysDir = env('KEYS_DIR');

const sdk = new AlipaySdk({
  appId: '2014072300007148',
  // PKCS#1, the SDK's default keyType
  privateKey: readFileSync(join(keysDir, 'app_private_key_pkcs1.pem'), 'utf8'),
  alipayPublicKey: readFileSync(join(keysDir, 'alipay_public_key.pem'), 'utf8'),
  gateway: env('GATEWAY_URL'),
  signType: 'RSA2',
  timeout: 15000,
});

try {
  const result = await sdk.exec('zhima.auth.info.authquery', {
    bizContent: {
      identity_type: '2',
      auth_category: 'C2B',
      identity_param: JSON.stringify({
        certType: 'IDENTITY_CARD',
        name: '张三',
        certNo: '33021199003132432',
      }),
    },
  }, { validateSign: true });
  console.log(JSON.stringify(result));
  if (result.code !== '10000' || result.authorized !== true) {
    console.error(`expected code 10000 authorized true, got ${JSON.stringify(result)}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`the SDK call failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}
