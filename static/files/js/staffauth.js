// Staff sign-in shared by the staff console, statistics and admin pages:
// the session lives in an HttpOnly cookie, state changes carry the CSRF token.
import { api, t, el, put, setCSRF, ApiError } from './app.js';
import { fieldErrors } from './forms.js';

/** session returns the signed-in user, showing the login form in box until there is one. */
export async function session(box) {
  try {
    const me = await api('GET', '/api/v1/auth/me');
    setCSRF(me.csrf_token);
    return me.user;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  return new Promise((resolve) => {
    const form = el('form', { id: 'login-form', novalidate: true },
      el('h2', { text: t('staff.login_heading') }),
      el('div', { id: 'login-errors', class: 'error', tabindex: '-1', hidden: true }),
      el('label', { for: 'username', text: t('staff.username') }),
      el('input', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', 'aria-describedby': 'username-error' }),
      el('p', { id: 'username-error', class: 'field-error' }),
      el('label', { for: 'password', text: t('staff.password') }),
      el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', 'aria-describedby': 'password-error' }),
      el('p', { id: 'password-error', class: 'field-error' }),
      el('button', { type: 'submit', id: 'login-submit', text: t('staff.login') }));
    put(box, form);
    box.hidden = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const errors = fieldErrors(form, document.getElementById('login-errors'));
      errors.clear();
      const username = form.username.value.trim();
      if (!username) { errors.show([['username', t('staff.username_required')]]); return; }
      try {
        const res = await api('POST', '/api/v1/auth/login', { username, password: form.password.value });
        setCSRF(res.csrf_token);
        box.hidden = true;
        put(box);
        resolve(res.user);
      } catch (err) {
        errors.show([[err.field || 'password', err.message]]);
      }
    });
    form.username.focus();
    // The page waits for a sign-in: it is ready for input (tests wait for this).
    document.documentElement.dataset.ready = 'login';
  });
}

/** logout ends the session and reloads the page (which then shows the login). */
export async function logout() {
  try { await api('POST', '/api/v1/auth/logout'); } finally { location.reload(); }
}

/** staffNav is the navigation of the staff pages. */
export const staffNav = [['/staff', 'nav.console'], ['/staff/stats', 'nav.stats'], ['/admin', 'nav.admin']];

/** userOffices lists the offices user may work for. */
export async function userOffices(user) {
  const all = (await api('GET', '/api/v1/offices')).offices;
  return user.role === 'admin' ? all : all.filter((o) => (user.offices || []).includes(o.id));
}

/** userBar shows who is signed in with a logout button in box. */
export function userBar(box, user) {
  put(box, el('span', { text: t('staff.signed_in', { user: user.username }) }),
    el('button', { type: 'button', class: 'secondary', id: 'logout', text: t('staff.logout'), onclick: logout }));
  box.hidden = false;
}
