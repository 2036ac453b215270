// The console's shell: token login, hash navigation between the five views.
import { setToken, token, showError, api } from './api.js';
import * as tryit from './tryit.js';
import * as journal from './journal.js';
import * as testdata from './testdata.js';
import * as magic from './magic.js';
import * as notifications from './notifications.js';

const views = { try: tryit, journal, notifications, data: testdata, magic };

async function show() {
  const name = (location.hash || '#try').slice(1);
  const current = views[name] ? name : 'try';
  for (const section of document.querySelectorAll('[data-view]')) section.hidden = section.dataset.view !== current;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#${current}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Polling views poll only while shown.
  for (const [name, view] of Object.entries(views)) if (name !== current && view.hidden) view.hidden();
  showError();
  try {
    await views[current].refresh();
    if (views[current].shown) views[current].shown();
  } catch (e) {
    showError(e);
  }
}

async function checkLogin() {
  const status = document.getElementById('login-status');
  try {
    await api('GET', 'health');
    status.textContent = 'connected';
  } catch (e) {
    status.textContent = e.status === 401 ? 'token needed' : 'gateway unreachable';
  }
}

function start() {
  tryit.mount(document.getElementById('view-try'));
  journal.mount(document.getElementById('view-journal'));
  notifications.mount(document.getElementById('view-notifications'));
  testdata.mount(document.getElementById('view-data'));
  magic.mount(document.getElementById('view-magic'), async (testCase) => {
    location.hash = '#try';
    await tryit.prefill(testCase);
  }, async (method, biz) => {
    location.hash = '#try';
    await tryit.prefillDefined(method, biz);
  });
  const input = document.getElementById('token');
  input.value = token();
  document.getElementById('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    await checkLogin();
    await show();
  });
  window.addEventListener('hashchange', show);
  checkLogin();
  show();
}

start();
