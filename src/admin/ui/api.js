// The admin API client: every call carries the token typed into the login field.
const TOKEN_KEY = 'alipay-mock-admin-token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Calls `/__admin/<path>`; answers the parsed JSON (or text), throws with the API's error. */
export async function api(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/__admin/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let data = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json') && text) {
    data = JSON.parse(text);
  }
  if (!res.ok) {
    const message = data && data.error ? data.error : `${res.status} ${res.statusText}`;
    const error = new Error(`${method} /__admin/${path}: ${message}`);
    error.status = res.status;
    throw error;
  }
  return data;
}

/** Shows an error in the page's alert line (and clears it with no argument). */
export function showError(error) {
  const line = document.getElementById('error');
  line.textContent = error ? String(error.message || error) : '';
}

/** `document.createElement` with properties, attributes (`data-*`, `aria-*`) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith('data-') || key.startsWith('aria-') || key === 'for' || key === 'role' || key === 'list' || key === 'lang') {
      node.setAttribute(key, value);
    } else if (key.startsWith('on')) {
      node.addEventListener(key.slice(2), value);
    } else {
      node[key] = value;
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A labelled field: label + control, linked by id. */
export function field(labelText, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return el('div', {}, el('label', { for: id }, labelText), control);
}

/** A select with the given [value, text] options. */
export function select(props, options) {
  return el('select', props, options.map(([value, text]) => el('option', { value }, text ?? value)));
}
