// Shared pieces of every page: messages (de/en), the API client, the page
// frame (header with language switch, footer, closure banner) and helpers.
// Pages are plain ES modules; nothing here is built or fetched from elsewhere.

const LANG_KEY = 'rathaus.lang';
let messages = {};

/** The page language: German unless English was chosen (remembered). */
export const lang = (() => {
  try { return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'de'; } catch { return 'de'; }
})();

/** Locale for Intl formatting. */
export const locale = lang === 'en' ? 'en-GB' : 'de-DE';

/** t returns the message key with {name} placeholders filled from vars. */
export function t(key, vars = {}) {
  let s = key.split('.').reduce((o, k) => (o && o[k] !== undefined ? o[k] : undefined), messages);
  if (typeof s !== 'string') return key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
}

/** applyI18n fills [data-i18n] text and [data-i18n-attr="attr:key;…"] attributes below root. */
export function applyI18n(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
  root.querySelectorAll('[data-i18n-attr]').forEach((n) => {
    n.dataset.i18nAttr.split(';').forEach((pair) => {
      const [attr, key] = pair.split(':');
      if (attr && key) n.setAttribute(attr.trim(), t(key.trim()));
    });
  });
}

/** el builds an element: el('p', {class: 'x', text: 'hi'}, child…). */
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') n.textContent = v;
    else if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (v === true) n.setAttribute(k, '');
    else n.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) n.append(c);
  return n;
}

/** local picks the page language from a {de, en} text (a plain string stays as it is). */
export function local(v) {
  if (v && typeof v === 'object') return v[lang] || v.de || v.en || '';
  return v || '';
}

/** put replaces the children of box, skipping empty ones (null, false). */
export function put(box, ...kids) {
  box.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

/** ApiError is a failed API call with the server's code, message and field. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status; this.code = code; this.field = field;
  }
}

let csrf = '';
/** setCSRF remembers the session's CSRF token for state-changing calls. */
export function setCSRF(v) { csrf = v || ''; }

/** api calls the JSON API; it returns the parsed body (null for 204) or throws ApiError. */
export async function api(method, path, body, opts = {}) {
  const headers = { 'Accept-Language': lang, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  Object.assign(headers, opts.headers || {});
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', t('common.network_error'));
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'http_' + res.status, e.message || t('common.unknown_error'), e.field);
  }
  return data;
}

/** announce says msg in the page's live region (polite unless assertive). */
export function announce(msg, assertive = false) {
  const r = document.getElementById(assertive ? 'live-assertive' : 'live-polite');
  if (!r) return;
  r.textContent = '';
  window.setTimeout(() => { r.textContent = msg; }, 50);
}

/** officeTZ is the time zone dates are shown in (set from the office). */
let officeTZ = 'Europe/Berlin';
export function setTimeZone(tz) { if (tz) officeTZ = tz; }

/** fmtDate formats a YYYY-MM-DD date or a time stamp as a long date. */
export function fmtDate(v, opts = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }) {
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(v + 'T12:00:00Z') : new Date(v);
  const tz = typeof v === 'string' && v.length === 10 ? 'UTC' : officeTZ;
  return new Intl.DateTimeFormat(locale, { ...opts, timeZone: tz }).format(d);
}

/** fmtTime formats a time stamp as HH:MM in the office's time zone. */
export function fmtTime(v) {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: officeTZ }).format(new Date(v));
}

/** addDays adds n days to a YYYY-MM-DD date. */
export function addDays(date, n) {
  const d = new Date(date + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** pathPart returns the n-th segment of the page's path (/a/TOKEN → 1: TOKEN). */
export function pathPart(n) {
  return decodeURIComponent(location.pathname.split('/').filter(Boolean)[n] || '');
}

/** officeId is the office of a public page: ?office=, else the first office. */
export async function officeId() {
  const q = new URLSearchParams(location.search).get('office');
  if (q) return q;
  const list = await api('GET', '/api/v1/offices');
  return list.offices.length ? list.offices[0].id : '';
}

async function loadMessages() {
  const res = await fetch(`/static/i18n/${lang}.json`);
  messages = await res.json();
}

function langSwitch() {
  const other = lang === 'de' ? 'en' : 'de';
  return el('button', {
    type: 'button', class: 'lang-switch', lang: other, text: t('common.switch_label'),
    onclick: () => { try { localStorage.setItem(LANG_KEY, other); } catch { /* private mode */ } location.reload(); },
  });
}

function frame(opts) {
  const header = document.getElementById('site-header');
  if (header) {
    header.replaceChildren(...[
      el('a', { class: 'brand', href: opts.home || '/', text: t('common.brand') }),
      opts.nav ? el('nav', { 'aria-label': t('common.nav_label') }, opts.nav.map(([href, key]) => el('a', { href, text: t(key), 'aria-current': location.pathname === href ? 'page' : null }))) : null,
      langSwitch(),
    ].filter(Boolean));
  }
  const footer = document.getElementById('site-footer');
  if (footer) {
    footer.replaceChildren(el('ul', {},
      el('li', {}, el('a', { href: '/closures', text: t('nav.closures') })),
      el('li', {}, el('a', { href: '/privacy', text: t('nav.privacy') })),
      el('li', {}, el('a', { href: '/accessibility', text: t('nav.accessibility') })),
      el('li', {}, el('a', { href: '/staff', text: t('nav.staff') })),
    ));
  }
  for (const id of ['live-polite', 'live-assertive']) {
    if (!document.getElementById(id)) {
      document.body.append(el('div', { id, class: 'visually-hidden', 'aria-live': id === 'live-polite' ? 'polite' : 'assertive', role: id === 'live-polite' ? 'status' : 'alert' }));
    }
  }
}

/**
 * setupPage loads the messages, sets language and title, draws the frame and
 * marks the page ready (data-ready) once init has run, which tests wait for.
 */
export async function setupPage(titleKey, init, opts = {}) {
  document.documentElement.lang = lang;
  await loadMessages();
  document.title = t(titleKey) + ' – ' + t('common.brand');
  frame(opts);
  applyI18n();
  try {
    await init();
  } catch (e) {
    showError(e);
  }
  document.documentElement.dataset.ready = '1';
}

/** showError puts a failed call's message into #page-error and announces it. */
export function showError(e) {
  const box = document.getElementById('page-error');
  const msg = e instanceof ApiError ? e.message : t('common.unknown_error');
  if (box) { box.textContent = msg; box.hidden = false; }
  announce(msg, true);
  if (!(e instanceof ApiError)) console.error(e);
}

/** closureRange is "from – until" of a closure (one date when equal). */
export function closureRange(c) {
  const from = fmtDate(c.from), until = fmtDate(c.until);
  let s = c.from === c.until ? from : `${from} – ${until}`;
  if (c.from_time && c.until_time) s += `, ${c.from_time}–${c.until_time}`;
  return s;
}

/** closureDetails lists a closure's message, emergency phone and come-by date. */
export function closureDetails(c) {
  return [
    local(c.message) ? el('p', { text: local(c.message) }) : null,
    c.phone ? el('p', {}, t('closure.phone') + ' ', el('a', { href: 'tel:' + c.phone.replace(/\s/g, ''), text: c.phone })) : null,
    c.email ? el('p', {}, t('closure.email') + ' ', el('a', { href: 'mailto:' + c.email, text: c.email })) : null,
    c.come_by ? el('p', { text: t('closure.come_by', { date: /^\d{4}-\d{2}-\d{2}$/.test(c.come_by) ? fmtDate(c.come_by) : c.come_by }) }) : null,
  ];
}

/**
 * showBanner shows the current or next closure of office (from its closures
 * list) in #closure-banner; holidays are left to the calendar.
 */
export function showBanner(office) {
  const box = document.getElementById('closure-banner');
  if (!box) return;
  const list = (office.closures || []).filter((c) => !c.holiday).sort((a, b) => a.from.localeCompare(b.from));
  if (!list.length) { box.hidden = true; return; }
  const c = list[0];
  const today = new Date().toISOString().slice(0, 10);
  const current = c.from <= today;
  put(box,
    el('h2', { id: 'closure-banner-title', text: t(current ? 'closure.banner_now' : 'closure.banner_soon', { title: local(c.title) }) }),
    el('p', { class: 'closure-dates', text: closureRange(c) }),
    ...closureDetails(c),
    el('p', {}, el('a', { href: '/closures' + (location.search || ''), text: t('closure.all') })),
  );
  box.hidden = false;
}
