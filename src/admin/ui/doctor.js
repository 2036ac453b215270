// "Copy as alipay-mock doctor": a failed journal call as a command line that examines it
// offline (`alipay-mock doctor --param NAME=VALUE …`). Text only: the command is shown
// with textContent and copied as text, never parsed as HTML.
import { el } from './api.js';

/** A word quoted for a POSIX shell: single quotes, each ' written as '\''. */
function shellQuote(word) {
  return `'${String(word).replaceAll("'", "'\\''")}'`;
}

/** The `alipay-mock doctor` command line of a journal entry's parameters. */
export function doctorCommand(entry) {
  const params = Object.entries(entry.params || {})
    .map(([name, value]) => `  --param ${shellQuote(`${name}=${value}`)}`);
  return ['alipay-mock doctor', ...params].join(' \\\n');
}

/** Caveats that make the copied parameters differ from what was sent. */
function caveats(entry) {
  const notes = ['Values are as the journal shows them: run the gateway with --journal-unmasked so identity data is copied as sent.'];
  if (entry.params?.encrypt_type) notes.push('biz_content is shown decrypted: put back the ciphertext that was sent.');
  return notes.join(' ');
}

/** The copy button, the command and a status line, for a failed call; else nothing. */
export function copyAsDoctor(entry) {
  if (entry.outcome?.code === '10000') return '';
  const command = doctorCommand(entry);
  const status = el('p', { className: 'muted', role: 'status', 'data-testid': 'journal-doctor-status' });
  const pre = el('pre', { 'data-testid': 'journal-doctor-command', tabIndex: 0 }, command);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      status.textContent = 'Copied. Run it where alipay-mock is installed; it needs no running gateway.';
    } catch {
      // No clipboard (an insecure origin, a denied permission): select the text instead.
      window.getSelection()?.selectAllChildren(pre);
      status.textContent = 'The clipboard is not available here: the command is selected, copy it with Ctrl+C.';
    }
  };
  return el('div', {},
    el('h3', {}, 'Examine offline'),
    el('button', { type: 'button', className: 'secondary', 'data-testid': 'journal-copy-doctor', onclick: copy }, 'Copy as alipay-mock doctor'),
    status,
    el('p', { className: 'muted' }, caveats(entry)),
    pre);
}
