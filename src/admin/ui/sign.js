// Request signing and answer verification in the browser (WebCrypto), as Alipay's SDKs do
// it: the private key never leaves the page.

const HASH = { RSA2: 'SHA-256', RSA: 'SHA-1' };

function pemBody(pem) {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function base64(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Imports a PKCS#8 private key (PEM or bare base64) for RSA2 or RSA signing. */
export async function importPrivateKey(pem, signType) {
  if (/BEGIN RSA PRIVATE KEY/.test(pem)) {
    throw new Error('PKCS#1 keys are not supported by WebCrypto: paste the PKCS#8 form (BEGIN PRIVATE KEY)');
  }
  return crypto.subtle.importKey('pkcs8', pemBody(pem),
    { name: 'RSASSA-PKCS1-v1_5', hash: HASH[signType] }, false, ['sign']);
}

/** Imports an SPKI public key (the platform key an SDK takes as "Alipay public key"). */
export async function importPublicKey(pem, signType) {
  return crypto.subtle.importKey('spki', pemBody(pem),
    { name: 'RSASSA-PKCS1-v1_5', hash: HASH[signType] }, false, ['verify']);
}

/** The string to sign: every non-empty parameter but `sign`, sorted by name, `k=v&…`. */
export function signContent(params) {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

let gbkTable = null;

/** Text to GBK bytes, from a table built once with the browser's own GBK decoder. */
function gbkEncode(text) {
  if (!gbkTable) {
    gbkTable = new Map();
    const decoder = new TextDecoder('gbk');
    for (let hi = 0x81; hi <= 0xfe; hi++) {
      for (let lo = 0x40; lo <= 0xfe; lo++) {
        if (lo === 0x7f) continue;
        const ch = decoder.decode(new Uint8Array([hi, lo]));
        if (ch.length === 1 && ch !== '\ufffd' && !gbkTable.has(ch)) gbkTable.set(ch, [hi, lo]);
      }
    }
  }
  const out = [];
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (code < 0x80) out.push(code);
    else {
      const pair = gbkTable.get(ch);
      if (!pair) throw new Error(`${ch} has no GBK encoding`);
      out.push(...pair);
    }
  }
  return new Uint8Array(out);
}

/** The bytes of `text` in the request's charset. */
export function encode(text, charset) {
  return /^gbk$/i.test(charset) ? gbkEncode(text) : new TextEncoder().encode(text);
}

/** Signs `content` (in `charset`); answers base64. */
export async function sign(key, content, charset) {
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, encode(content, charset));
  return base64(signature);
}

/** `application/x-www-form-urlencoded` in the given charset. */
export function formBody(params, charset) {
  const part = (text) => {
    let out = '';
    for (const b of encode(text, charset)) {
      const c = String.fromCharCode(b);
      out += /[A-Za-z0-9*\-._]/.test(c) ? c : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  };
  return Object.entries(params).map(([k, v]) => `${part(k)}=${part(v)}`).join('&');
}

/**
 * The answer's signed text: the raw JSON value of the response node, exactly as sent (the
 * SDKs take the bytes between the node's name and `,"sign"`), and the `sign` beside it.
 */
export function signedNode(text, nodeName) {
  const marker = `"${nodeName}"`;
  let at = text.indexOf(marker);
  if (at < 0) at = text.indexOf('"error_response"');
  if (at < 0) return null;
  let i = text.indexOf(':', at) + 1;
  while (/\s/.test(text[i])) i++;
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) break;
  }
  const node = text.slice(start, i + 1);
  let signValue = null;
  try { signValue = JSON.parse(text).sign ?? null; } catch { signValue = null; }
  return { node, sign: signValue };
}

/** Whether `signature` (base64) verifies over `content` with the platform key. */
export async function verify(publicKey, content, signature, charset) {
  const bin = atob(signature);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return crypto.subtle.verify('RSASSA-PKCS1-v1_5', publicKey, bytes, encode(content, charset));
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time, as the gateway reads `timestamp`. */
export function beijingTimestamp(date = new Date()) {
  return new Date(date.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** A shell-quoted word. */
export function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
