// Magic values (魔法值): the catalogue of seeded outcomes, each row one click from Try it.
import { api, el } from './api.js';

const ui = {};

export function mount(section, tryCase) {
  ui.tryCase = tryCase;
  ui.body = el('tbody', { 'data-testid': 'magic-rows' });
  section.append(
    el('p', {}, 'Each case is a request whose answer the fixtures fix in advance; "Try it" fills the Try-it form with it.'),
    el('div', { className: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['Case', 'Description', 'App', 'biz_content', 'Expected'].map((h) => el('th', { scope: 'col' }, h)))),
      ui.body)));
}

export async function refresh() {
  const cases = await api('GET', 'cases');
  ui.body.replaceChildren(...cases.map((c) => {
    const e = c.expect;
    const expected = [e.code, e.sub_code, 'authorized' in e ? `authorized: ${e.authorized}` : null].filter((x) => x != null).join(' ');
    return el('tr', { 'data-testid': 'magic-row', 'data-case': c.name },
      el('td', {}, el('code', {}, c.name), el('br'),
        el('button', { type: 'button', 'data-testid': `magic-try-${c.name}`, 'aria-label': `Try ${c.name}`, onclick: () => ui.tryCase(c) }, 'Try it')),
      el('td', {}, c.description), el('td', {}, c.app_id),
      el('td', {}, el('code', {}, JSON.stringify(c.biz_content))), el('td', {}, expected));
  }));
}
