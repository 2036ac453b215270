// Magic values (魔法值): the catalogue of seeded outcomes, each row one click from Try it,
// and the rules of every defined method.
import { api, el } from './api.js';

const ui = {};

export function mount(section, tryCase, tryDefined) {
  ui.tryCase = tryCase;
  ui.tryDefined = tryDefined;
  ui.body = el('tbody', { 'data-testid': 'magic-rows' });
  ui.rules = el('tbody', { 'data-testid': 'magic-method-rows' });
  section.append(
    el('p', {}, 'Each case is a request whose answer the fixtures fix in advance; "Try it" fills the Try-it form with it.'),
    el('div', { className: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['Case', 'Description', 'App', 'biz_content', 'Expected'].map((h) => el('th', { scope: 'col' }, h)))),
      ui.body)),
    el('h3', {}, 'Defined methods'),
    el('p', {}, 'The rules of each method definition, first match wins; "Try it" sends a biz_content that matches the rule.'),
    el('div', { className: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['Method', 'Rule', 'when', 'Answers'].map((h) => el('th', { scope: 'col' }, h)))),
      ui.rules)));
}

/** The definition's example with each `when` path set (dotted paths into objects). */
function matching(example, when) {
  const biz = JSON.parse(JSON.stringify(example ?? {}));
  for (const [path, value] of Object.entries(when ?? {})) {
    const keys = path.split('.');
    let at = biz;
    for (const key of keys.slice(0, -1)) {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
      at = at[key];
    }
    at[keys[keys.length - 1]] = value;
  }
  return biz;
}

function answers(rule) {
  if (rule.error) return `${rule.error.code ?? '40004'} ${rule.error.sub_code} ${rule.error.sub_msg ?? ''}`;
  return `10000 ${JSON.stringify(rule.answer)}`;
}

export async function refresh() {
  const [cases, definitions] = await Promise.all([api('GET', 'cases'), api('GET', 'methods')]);
  ui.body.replaceChildren(...cases.map((c) => {
    const e = c.expect;
    const expected = [e.code, e.sub_code, 'authorized' in e ? `authorized: ${e.authorized}` : null].filter((x) => x != null).join(' ');
    return el('tr', { 'data-testid': 'magic-row', 'data-case': c.name },
      el('td', {}, el('code', {}, c.name), el('br'),
        el('button', { type: 'button', 'data-testid': `magic-try-${c.name}`, 'aria-label': `Try ${c.name}`, onclick: () => ui.tryCase(c) }, 'Try it')),
      el('td', {}, c.description), el('td', {}, c.app_id),
      el('td', {}, el('code', {}, JSON.stringify(c.biz_content))), el('td', {}, expected));
  }));
  ui.rules.replaceChildren(...definitions.flatMap((d) => d.rules.map((rule, i) =>
    el('tr', { 'data-testid': 'magic-method-row', 'data-method': d.method, 'data-rule': String(i) },
      el('td', {}, el('code', {}, d.method), el('br'), el('span', { className: 'muted' }, d.description ?? '')),
      el('td', {}, `#${i + 1}`, el('br'),
        el('button', {
          type: 'button', 'data-testid': `magic-try-${d.method}-${i}`, 'aria-label': `Try ${d.method} rule ${i + 1}`,
          onclick: () => ui.tryDefined(d.method, matching(d.example, rule.when)),
        }, 'Try it')),
      el('td', {}, el('code', {}, rule.when ? JSON.stringify(rule.when) : '(any)')),
      el('td', {}, el('code', {}, answers(rule)))))));
}
