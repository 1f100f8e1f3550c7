// Form errors: each message sits under its field (aria-describedby points at
// it, aria-invalid marks the field) and a summary is announced and focused.
import { el, announce } from './app.js';

/** fieldErrors returns clear() and show([[field|null, message]…]) for form. */
export function fieldErrors(form, summary) {
  return {
    clear() {
      summary.hidden = true;
      summary.replaceChildren();
      form.querySelectorAll('[aria-invalid]').forEach((f) => f.removeAttribute('aria-invalid'));
      form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
    },
    show(list) {
      const items = list.map(([field, msg]) => {
        const input = field ? form.elements[field] : null;
        if (input) {
          input.setAttribute('aria-invalid', 'true');
          const p = document.getElementById(input.id + '-error');
          if (p) p.textContent = msg;
          return el('li', {}, el('a', { href: '#' + input.id, text: msg }));
        }
        return el('li', { text: msg });
      });
      summary.replaceChildren(el('ul', {}, items));
      summary.hidden = false;
      summary.focus();
      announce(list.map((x) => x[1]).join(' '), true);
    },
  };
}
