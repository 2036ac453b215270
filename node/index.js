// alipay-mock for Node tests: starts the gateway binary on a free loopback port and
// controls it through its documented admin API (`/__admin/`). Types: index.d.ts.
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The environment variable naming a binary to use instead of the packed one. */
export const BIN_ENV = 'ALIPAY_MOCK_BIN';
/** The fixtures' default app: key mode, RSA2 and RSA, AES key, seeded authorisations. */
export const DEFAULT_APP_ID = '2014072300007148';
/** The fixtures' certificate-mode app. */
export const CERT_APP_ID = '2021000000000003';

const READY = /alipay-mock listening on (http:\/\/\S+?)\/gateway\.do/;
const EXE = process.platform === 'win32' ? 'alipay-mock.exe' : 'alipay-mock';
const fixture = (path) => fileURLToPath(new URL(`./fixtures/${path}`, import.meta.url));

/** An admin call the gateway refused; `adminMessage` is its `{"error": …}` text. */
export class AlipayMockError extends Error {
  constructor(status, adminMessage, method, path) {
    super(`${method} ${path} answered ${status}: ${adminMessage}`);
    this.name = 'AlipayMockError';
    this.status = status;
    this.adminMessage = adminMessage;
    this.method = method;
    this.path = path;
  }
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary to start: `ALIPAY_MOCK_BIN`, else the one packed for this platform. */
export function resolveBinary(env = process.env) {
  const override = env[BIN_ENV];
  if (override) {
    if (executable(override)) return override;
    throw new Error(`${BIN_ENV}=${override} is not an executable file`);
  }
  const packed = fileURLToPath(new URL(`./bin/${process.platform}-${process.arch}/${EXE}`, import.meta.url));
  if (executable(packed)) return packed;
  throw new Error(
    `no alipay-mock binary: ${BIN_ENV} is not set and this package has none for ` +
      `${process.platform}-${process.arch} (${packed}); set ${BIN_ENV} to a built binary ` +
      '(cargo build: target/debug/alipay-mock) or install a package packed with one',
  );
}

function keyApp() {
  const path = {
    privateKeyPath: fixture('keys/app_private_key.pem'),
    privateKeyPkcs1Path: fixture('keys/app_private_key_pkcs1.pem'),
    alipayPublicKeyPath: fixture('keys/alipay_public_key.pem'),
  };
  return Object.freeze({
    appId: DEFAULT_APP_ID,
    ...path,
    privateKey: readFileSync(path.privateKeyPath, 'ascii'),
    privateKeyPkcs1: readFileSync(path.privateKeyPkcs1Path, 'ascii'),
    alipayPublicKey: readFileSync(path.alipayPublicKeyPath, 'ascii'),
    aesKey: 'mRpcDcfCIHfPn/09B9QiJg==',
  });
}

function certApp() {
  const privateKeyPath = fixture('certs/app_private_key.pem');
  return Object.freeze({
    appId: CERT_APP_ID,
    privateKeyPath,
    privateKeyPkcs1Path: fixture('certs/app_private_key_pkcs1.pem'),
    privateKey: readFileSync(privateKeyPath, 'ascii'),
    appCertPath: fixture('certs/app_cert_public_key.crt'),
    alipayPublicCertPath: fixture('certs/alipay_cert_public_key_rsa2.crt'),
    alipayRootCertPath: fixture('certs/alipay_root_cert.crt'),
  });
}

function query(params) {
  const pairs = Object.entries(params ?? {}).filter(([, v]) => v !== undefined && v !== null);
  return pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)]))}` : '';
}

function instant(at) {
  return at instanceof Date ? at.toISOString() : at;
}

/**
 * A client of a running gateway's admin API. `baseUrl` is `http://HOST:PORT`.
 * `startAlipayMock` returns one bound to the gateway it started.
 */
export function adminClient(baseUrl, { adminToken } = {}) {
  const base = baseUrl.replace(/\/+$/, '');
  async function call(method, path, body, params) {
    const target = path + query(params);
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (adminToken) headers.authorization = `Bearer ${adminToken}`;
    const res = await fetch(base + target, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text || res.statusText;
      try {
        message = JSON.parse(text).error ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new AlipayMockError(res.status, message, method, target);
    }
    if (!text) return undefined;
    return (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  }

  const clock = {
    freeze: (at) => call('PUT', '/__admin/clock', { frozen_at: instant(at) }),
    offset: (seconds) => call('PUT', '/__admin/clock', { offset_seconds: seconds }),
    real: () => call('DELETE', '/__admin/clock'),
    get: () => call('GET', '/__admin/clock'),
  };

  return {
    baseUrl: base,
    call,
    clock,
    force(outcome, { times, nth, forSeconds, method, appId, identity } = {}) {
      const wire = typeof outcome === 'string' ? { error: outcome } : { ...outcome };
      if ('openId' in wire) {
        wire.open_id = wire.openId;
        delete wire.openId;
      }
      if (('error' in wire) === ('authorized' in wire)) {
        throw new TypeError("force() takes an error code, { error } or { authorized }");
      }
      const match = Object.fromEntries(
        Object.entries({ method, app_id: appId, identity }).filter(([, v]) => v !== undefined),
      );
      const body = { outcome: wire };
      if (Object.keys(match).length) body.match = match;
      if (times !== undefined) body.times = times;
      if (nth !== undefined) body.nth = nth;
      if (forSeconds !== undefined) body.for_seconds = forSeconds;
      return call('POST', '/__admin/scenarios', body);
    },
    scenarios: ({ appId } = {}) => call('GET', '/__admin/scenarios', undefined, { app_id: appId }),
    grant(identity, { appId = DEFAULT_APP_ID, authCategory = 'C2B', openId } = {}) {
      const body = { app_id: appId, identity, auth_category: authCategory };
      if (openId !== undefined) body.open_id = openId;
      return call('POST', '/__admin/authorizations', body);
    },
    async revoke(identity, { appId = DEFAULT_APP_ID, authCategory } = {}) {
      const params = { app_id: appId, identity, auth_category: authCategory };
      return (await call('DELETE', '/__admin/authorizations', undefined, params)).revoked;
    },
    authorizations: ({ appId, identity } = {}) =>
      call('GET', '/__admin/authorizations', undefined, { app_id: appId, identity }),
    setState: (identity, state) =>
      call('PATCH', `/__admin/identities/${encodeURIComponent(identity)}`, { state }),
    app: (appId = DEFAULT_APP_ID) => call('GET', `/__admin/apps/${encodeURIComponent(appId)}`),
    setFaults({ seed = 0, latencyMs, unknownErrorRate, dropConnectionRate, hostile, hostileRate, appId } = {}) {
      const body = { seed };
      if (Array.isArray(latencyMs)) body.latency_ms = { min: latencyMs[0], max: latencyMs[1] };
      else if (latencyMs !== undefined) body.latency_ms = latencyMs;
      if (unknownErrorRate !== undefined) body.unknown_error_rate = unknownErrorRate;
      if (dropConnectionRate !== undefined) body.drop_connection_rate = dropConnectionRate;
      if (hostile !== undefined) {
        body.hostile = { mode: hostile };
        if (hostileRate !== undefined) body.hostile.rate = hostileRate;
      }
      return call('PUT', '/__admin/faults', body, { app_id: appId });
    },
    clearFaults: ({ appId } = {}) => call('DELETE', '/__admin/faults', undefined, { app_id: appId }),
    async requests({ method, appId, outcome, since, limit } = {}) {
      const params = { method, app_id: appId, outcome, since: since && instant(since), limit };
      return (await call('GET', '/__admin/requests', undefined, params)).requests;
    },
    defineMethod(definition) {
      if (!definition?.method) throw new TypeError('defineMethod() needs the definition\'s "method"');
      return call('PUT', `/__admin/methods/${encodeURIComponent(definition.method)}`, definition);
    },
    methods: () => call('GET', '/__admin/methods'),
    methodDefinition: (method) => call('GET', `/__admin/methods/${encodeURIComponent(method)}`),
    async deleteMethod(method) {
      await call('DELETE', `/__admin/methods/${encodeURIComponent(method)}`);
    },
    notify({ notifyUrl, params = {}, appId = DEFAULT_APP_ID, signType, charset, delaySeconds }) {
      const body = { app_id: appId, notify_url: notifyUrl, params };
      if (signType !== undefined) body.sign_type = signType;
      if (charset !== undefined) body.charset = charset;
      if (delaySeconds !== undefined) body.delay_seconds = delaySeconds;
      return call('POST', '/__admin/notifications', body);
    },
    async notifications({ appId, state } = {}) {
      return (await call('GET', '/__admin/notifications', undefined, { app_id: appId, state })).notifications;
    },
    notification: (id) => call('GET', `/__admin/notifications/${encodeURIComponent(id)}`),
    retryNotification: (id) => call('POST', `/__admin/notifications/${encodeURIComponent(id)}/retry`),
    async cancelNotification(id) {
      await call('DELETE', `/__admin/notifications/${encodeURIComponent(id)}`);
    },
    async reset({ appId } = {}) {
      await call('POST', '/__admin/reset', undefined, { app_id: appId });
    },
  };
}

/**
 * Starts `alipay-mock serve --ephemeral` on 127.0.0.1 and a free port, waits for its
 * ready line, and returns its URL, the fixture apps and the admin controls.
 */
export async function startAlipayMock({ bin, adminToken, args = [], startTimeoutMs = 30_000 } = {}) {
  const binary = bin ?? resolveBinary();
  const argv = ['serve', '--ephemeral', '--addr', '127.0.0.1:0', ...args];
  if (adminToken) argv.push('--admin-token', adminToken);
  const env = { ...process.env };
  delete env.ALIPAY_MOCK_ADMIN_TOKEN;
  const child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const killAtExit = () => child.kill('SIGKILL');

  const baseUrl = await new Promise((resolve, reject) => {
    let stdout = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${binary} ${argv.join(' ')} ${why}; stderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${startTimeoutMs} ms`), startTimeoutMs);
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `status ${code}`})`));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (settled) return;
      stdout += chunk;
      const found = READY.exec(stdout);
      if (found) {
        settled = true;
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  // Keep draining stdout so the gateway never blocks on it, but let Node exit even if a
  // test forgets stop(): the exit hook kills the gateway then.
  child.stdout.resume();
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();
  process.once('exit', killAtExit);

  let stopped;
  return {
    ...adminClient(baseUrl, { adminToken }),
    url: `${baseUrl}/gateway.do`,
    port: Number(new URL(baseUrl).port),
    defaultApp: keyApp(),
    certApp: certApp(),
    /** Stops the gateway (SIGTERM, SIGKILL after 5 s); resolves once it has exited. */
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', killAtExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
}
