// The console in headless Chromium (scripts/ui-test.sh sets GATEWAY_URL, CHROMIUM,
// SCREENSHOTS, UI_TEST_MODULES). One gateway, one page, steps in order: each builds on
// the state the previous one left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const require = createRequire(path.join(process.env.UI_TEST_MODULES, 'package.json'));
const { chromium } = require('playwright-core');

const GATEWAY = process.env.GATEWAY_URL;
const SHOTS = process.env.SCREENSHOTS;
/** Every wait is bounded: a broken console fails in seconds, not at the CI timeout. */
const WAIT = { timeout: 15000 };

let browser;
let page;
const byId = (id) => page.getByTestId(id);

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 }, locale: 'zh-CN', permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
  page.on('dialog', (dialog) => dialog.accept());
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

after(async () => {
  await browser?.close();
});

/** Sends the Try-it form on a freshly loaded page: a hash-only navigation would keep
 * the previous answer on screen, and the waits below would find it at once. */
async function sendTry() {
  await page.goto('about:blank');
  await page.goto(`${GATEWAY}/__admin/ui/#try`);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-key"]')?.value.includes('PRIVATE KEY'), null, WAIT);
  await byId('try-send').click();
  await byId('try-verdict').waitFor(WAIT);
}

test('the page is served with no-store and a CSP that forbids remote scripts', async () => {
  const res = await page.goto(`${GATEWAY}/__admin/ui/`);
  assert.equal(res.status(), 200);
  const headers = res.headers();
  assert.equal(headers['cache-control'], 'no-store');
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.match(await page.title(), /alipay-mock/);
});

test('Try it with the document example answers 10000 and the answer signature verifies', async () => {
  await sendTry();
  await assert.doesNotReject(byId('try-code').filter({ hasText: 'code 10000' }).waitFor(WAIT));
  assert.equal(await byId('try-verdict').textContent(), 'signature verified');
  assert.equal(await byId('try-authorized').textContent(), 'authorized: true');
  const signContent = await byId('try-sign-content').textContent();
  assert.match(signContent, /^app_id=2014072300007148&biz_content=\{"identity_param":.*张三/);
  await page.screenshot({ path: `${SHOTS}/01-try-it.png`, fullPage: true });
});

test('revoking 张三 in Test data makes the next try answer authorized: false', async () => {
  await page.goto(`${GATEWAY}/__admin/ui/#data`);
  await byId('revoke-2014072300007148-zhangsan-C2B').click();
  await page.locator('[data-testid="authorization-row"][data-app="2014072300007148"][data-identity="zhangsan"]').waitFor({ state: 'detached', ...WAIT });
  await page.screenshot({ path: `${SHOTS}/02-test-data.png`, fullPage: true });
  await sendTry();
  assert.equal(await byId('try-authorized').textContent(), 'authorized: false');
  assert.equal(await byId('try-verdict').textContent(), 'signature verified');
});

test('a scenario forced from the form answers ZM_ACCOUNT_PAUSE', async () => {
  await page.goto(`${GATEWAY}/__admin/ui/#data`);
  await byId('scenario-error').fill('ZM_ACCOUNT_PAUSE');
  await byId('scenario-submit').click();
  await byId('scenario-row').first().waitFor(WAIT);
  await sendTry();
  assert.match(await byId('try-sub-code').textContent(), /ZM_ACCOUNT_PAUSE/);
  await page.screenshot({ path: `${SHOTS}/03-scenario-answer.png`, fullPage: true });
});

test('the journal lists the calls newest first and opens one with the verified string', async () => {
  await page.goto(`${GATEWAY}/__admin/ui/#journal`);
  const rows = byId('journal-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="journal-row"]').length >= 3, null, WAIT);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  // Keyboard: focus the oldest call (the first Try it) and open it with Enter.
  await rows.last().focus();
  await page.keyboard.press('Enter');
  await byId('journal-detail-sign-content').waitFor(WAIT);
  assert.match(await byId('journal-detail-verdict').textContent(), /^verified/);
  const verified = await byId('journal-detail-sign-content').textContent();
  assert.match(verified, /method=zhima\.auth\.info\.authquery/);
  assert.match(verified, /sign_type=RSA2/);
  assert.equal(await byId('journal-copy-doctor').count(), 0, 'no doctor command for a call that passed');
  await page.screenshot({ path: `${SHOTS}/04-journal.png`, fullPage: true });
  await byId('journal-filter-outcome').fill('ZM_ACCOUNT_PAUSE');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="journal-row"]').length === 1, null, WAIT);
  assert.match(await byId('journal-row').textContent(), /ZM_ACCOUNT_PAUSE/);
  // Live: a call made elsewhere shows up without reloading the page.
  await byId('journal-filter-outcome').fill('');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="journal-row"]').length === 3, null, WAIT);
  const res = await fetch(`${GATEWAY}/gateway.do?method=zhima.auth.info.authquery`);
  assert.equal(res.status, 200);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="journal-row"]').length === 4, null, WAIT);
  assert.match(await byId('journal-row').first().textContent(), /isv\.missing-app-id/);
});

test('a failed call copies as an alipay-mock doctor command that runs offline', async () => {
  await page.goto('about:blank');
  await page.goto(`${GATEWAY}/__admin/ui/#journal`);
  await byId('journal-filter-outcome').fill('isv.missing-app-id');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="journal-row"]').length === 1, null, WAIT);
  await byId('journal-row').click();
  await byId('journal-copy-doctor').click();
  await byId('journal-doctor-status').filter({ hasText: 'Copied' }).waitFor(WAIT);
  const command = await byId('journal-doctor-command').textContent();
  assert.match(command, /^alipay-mock doctor \\\n {2}--param 'method=zhima\.auth\.info\.authquery'$/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
  await page.screenshot({ path: `${SHOTS}/04b-journal-doctor.png`, fullPage: true });
  // The copied text runs as it is, with the built binary in place of the name.
  const run = spawnSync('sh', ['-c', command.replace(/^alipay-mock/, `'${process.env.ALIPAY_MOCK_BIN}'`)], { encoding: 'utf8' });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /answer: {4}40001 isv\.missing-app-id/);
});

test('RSA with the GBK charset signs and verifies in the browser too', async () => {
  // A fresh page: a hash-only navigation keeps the form of the test before, and its
  // asynchronous refresh could overwrite the fields filled below.
  await page.goto('about:blank');
  await page.goto(`${GATEWAY}/__admin/ui/#try`);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-key"]')?.value.includes('PRIVATE KEY'), null, WAIT);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-field-name"]')?.value === '张三', null, WAIT);
  await byId('try-sign-type').selectOption('RSA');
  await byId('try-charset').selectOption('GBK');
  await byId('try-field-name').fill('李四');
  await byId('try-field-certNo').fill('110101199001011001');
  await byId('try-send').click();
  await byId('try-verdict').waitFor(WAIT);
  assert.equal(await byId('try-code').textContent(), 'code 10000');
  assert.equal(await byId('try-authorized').textContent(), 'authorized: false');
  assert.equal(await byId('try-verdict').textContent(), 'signature verified');
});

test('magic values list the catalogue and try it fills the form', async () => {
  await page.goto(`${GATEWAY}/__admin/ui/#magic`);
  await byId('magic-row').first().waitFor(WAIT);
  assert.ok((await byId('magic-row').count()) >= 20);
  await page.screenshot({ path: `${SHOTS}/05-magic-values.png`, fullPage: true });
  await byId('magic-try-authorized_cert').click();
  await page.waitForFunction(() => location.hash === '#try', null, WAIT);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-biz-content"]')?.textContent.includes('张三'), null, WAIT);
});

test('Send notification posts a signed form to a local handler; the view shows the body and the attempts', async () => {
  // A notify handler in this process: answers fail once, then success.
  const received = [];
  const handler = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ type: req.headers['content-type'], body });
      res.end(received.length === 1 ? 'fail' : 'success');
    });
  });
  await new Promise((ok) => handler.listen(0, '127.0.0.1', ok));
  try {
    await page.goto('about:blank');
    await page.goto(`${GATEWAY}/__admin/ui/#notifications`);
    await byId('notify-url').fill(`http://127.0.0.1:${handler.address().port}/alipay/notify`);
    await byId('notify-charset').selectOption('GBK');
    await byId('notify-params').fill(JSON.stringify({ out_trade_no: 'T2002', trade_status: 'TRADE_SUCCESS', subject: '大乐透' }));
    await byId('notify-send').click();
    await byId('notify-sent').filter({ hasText: 'Made notification' }).waitFor(WAIT);
    await page.locator('[data-testid="notify-attempt"][data-verdict="rejected"]').waitFor(WAIT);
    assert.equal(received.length, 1);
    assert.equal(received[0].type, 'application/x-www-form-urlencoded; charset=GBK');
    assert.match(received[0].body, /subject=%B4%F3%C0%D6%CD%B8/);
    assert.equal(await byId('notify-detail-body').textContent(), received[0].body);
    assert.match(await byId('notify-detail-sign-content').textContent(), /^app_id=2014072300007148&charset=GBK&notify_id=/);
    await byId('notify-retry').click();
    await page.locator('[data-testid="notify-attempt"][data-verdict="delivered"]').waitFor(WAIT);
    await page.locator('[data-testid="notify-row"][data-state="delivered"]').waitFor(WAIT);
    assert.equal(received.length, 2);
    await page.screenshot({ path: `${SHOTS}/06-notifications.png`, fullPage: true });
  } finally {
    handler.close();
  }
});

test('a defined method is listed in Magic values and its rule answers from Try it, signed', async () => {
  const definition = {
    method: 'alipay.trade.query',
    description: 'browser test',
    rules: [
      { when: { out_trade_no: 'T1001' }, answer: { trade_status: 'TRADE_SUCCESS', out_trade_no: '{{biz.out_trade_no}}' } },
      { when: { out_trade_no: 'T404' }, error: { sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在' } },
    ],
    example: { out_trade_no: 'T1001' },
  };
  const put = await page.request.put(`${GATEWAY}/__admin/methods/alipay.trade.query`, { data: definition });
  assert.equal(put.status(), 201);
  await page.goto('about:blank');
  await page.goto(`${GATEWAY}/__admin/ui/#magic`);
  await byId('magic-method-row').first().waitFor(WAIT);
  assert.equal(await byId('magic-method-row').count(), 2);
  await byId('magic-try-alipay.trade.query-1').click();
  await page.waitForFunction(() => location.hash === '#try', null, WAIT);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-biz-json"]')?.value.includes('T404'), null, WAIT);
  await page.waitForFunction(() => document.querySelector('[data-testid="try-key"]')?.value.includes('PRIVATE KEY'), null, WAIT);
  assert.equal(await byId('try-method').inputValue(), 'alipay.trade.query');
  await byId('try-send').click();
  await byId('try-verdict').waitFor(WAIT);
  assert.equal(await byId('try-code').textContent(), 'code 40004');
  assert.match(await byId('try-sub-code').textContent(), /ACQ\.TRADE_NOT_EXIST/);
  assert.equal(await byId('try-verdict').textContent(), 'signature verified');
  await page.screenshot({ path: `${SHOTS}/07-defined-method.png`, fullPage: true });
});

test('the console is readable in a narrow window', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${GATEWAY}/__admin/ui/#try`);
  await byId('try-send').waitFor(WAIT);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page wider than the window by ${overflow}px`);
  await page.screenshot({ path: `${SHOTS}/08-narrow.png`, fullPage: true });
});
