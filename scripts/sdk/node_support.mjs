// Shared by the Node SDK drivers that need the raw answers (node_cert_conformance.mjs,
// node_methods_conformance.mjs): a recording pass-through proxy (exec() does not return
// the raw body; the proxy changes no byte either way) and the PASS/FAIL reporter.

import http from 'node:http';

export const oneLine = (text) => String(text).replace(/\s+/g, ' ').trim();
export const shorten = (text, limit = 500) => {
  const t = oneLine(text);
  return t.length <= limit ? t : `${t.slice(0, limit)}…`;
};
export const show = (value) => (value === undefined ? 'absent' : JSON.stringify(value));

/** Starts a proxy in front of `gateway` (its URL); `url` is the gateway.do URL to give the
 *  SDK, `last()` the raw bytes of the last answer (null when none), `reset()` forgets it. */
export async function recordingProxy(gateway) {
  let lastBody = null;
  const target = new URL(gateway);
  const server = http.createServer((req, res) => {
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
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}${target.pathname}`,
    last: () => lastBody,
    reset: () => { lastBody = null; },
    close: () => server.close(),
  };
}

export function describeError(err) {
  const raw = err?.responseDataRaw ? ` | body: ${shorten(err.responseDataRaw)}` : '';
  return `${err?.name ?? 'Error'}: ${shorten(err?.message ?? err, 400)}${raw}`;
}

/** One `PASS <sdk> <check> [<variant>]` / `FAIL … : <why>` line per check; `runCheck`
 *  turns a thrown error into a failure and calls `beforeEach` first (e.g. proxy.reset). */
export function reporter(sdk, beforeEach = () => {}) {
  const counts = { passed: 0, failed: 0 };
  function report(name, variant, why) {
    if (why == null || (Array.isArray(why) && why.length === 0)) {
      counts.passed += 1;
      console.log(`PASS ${sdk} ${name} [${variant}]`);
    } else {
      counts.failed += 1;
      console.log(`FAIL ${sdk} ${name} [${variant}] : ${oneLine(Array.isArray(why) ? why.join('; ') : why)}`);
    }
  }
  async function runCheck(name, variant, fn) {
    let why;
    beforeEach();
    try {
      why = await fn();
    } catch (err) {
      why = describeError(err);
      if (process.env.SDK_CONFORMANCE_DEBUG) console.error(err);
    }
    report(name, variant, why);
  }
  function finish() {
    console.log(`${counts.passed} passed, ${counts.failed} failed`);
    process.exitCode = counts.failed === 0 && counts.passed > 0 ? 0 : 1;
  }
  return { report, runCheck, finish, counts };
}
