// Admin (/admin): closures with a dry-run preview before publishing, the
// office's services and opening hours (read-only: they live in the offices
// file), the staff accounts and the log of staff actions.
import { api, t, el, put, local, setupPage, setTimeZone, fmtDate, fmtTime, closureRange, announce, ApiError, showError } from './app.js';
import { session, staffNav, userOffices, userBar } from './staffauth.js';
import { fieldErrors } from './forms.js';

const $ = (id) => document.getElementById(id);
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
let office, previewed = '', withdrawID = '', editing = null;

/** target is where the form goes: a new closure, or the one being changed. */
const target = () => `/api/v1/admin/offices/${office.id}/closures` + (editing ? `/${encodeURIComponent(editing.id)}` : '');
const method = () => (editing ? 'PATCH' : 'POST');

function closureBody(form) {
  const v = (n) => form.elements[n].value.trim();
  const body = { from: v('from'), until: v('until') || v('from'), title: { de: v('title_de'), en: v('title_en') || v('title_de') },
    message: { de: v('message_de'), en: v('message_en') || v('message_de') } };
  if (v('from_time') || v('until_time')) { body.from_time = v('from_time'); body.until_time = v('until_time'); }
  if (v('phone')) body.phone = v('phone');
  if (v('come_by')) body.come_by = v('come_by');
  return body;
}

/** count picks the singular message (key_one) for 1, else the plural. */
const count = (key, n) => t(n === 1 ? key + '_one' : key, { n });

const FIELD = { title: 'title_de', message: 'message_de' };

function errorsFor(form) {
  const errors = fieldErrors(form, $('closure-errors'));
  return {
    clear: errors.clear,
    fromAPI(e) {
      const f = e instanceof ApiError && e.field ? (FIELD[e.field.split('.')[0]] || e.field) : null;
      errors.show([[f && form.elements[f] ? f : null, e.message]]);
    },
    show: errors.show,
  };
}

async function preview(ev) {
  ev.preventDefault();
  const form = $('closure-form');
  const errors = errorsFor(form);
  errors.clear();
  const missing = [];
  if (!form.from.value) missing.push(['from', t('admin.from_required')]);
  if (!form.title_de.value.trim()) missing.push(['title_de', t('admin.title_required')]);
  if (missing.length) { errors.show(missing); return; }
  const body = closureBody(form);
  try {
    const res = await api(method(), `${target()}?dry_run=true`, body);
    previewed = JSON.stringify(body);
    const days = res.affected_days.filter((d) => d.count > 0);
    const box = $('preview');
    put(box,
      el('p', { id: 'preview-summary', text: res.affected_appointments
        ? t(res.affected_appointments === 1 ? 'admin.preview_affected_one' : 'admin.preview_affected', { appts: count('admin.n_appts', res.affected_appointments), days: count('admin.n_days', days.length) })
        : t('admin.preview_none') }),
      el('p', { text: t('admin.preview_range', { range: closureRange(res.closure) }) }),
      days.length ? el('ul', {}, days.map((d) => el('li', { text: t('admin.preview_day', { date: fmtDate(d.date), appts: count('admin.n_appts', d.count) }) }))) : null,
      toCall(res, 'admin.to_call_preview'));
    box.hidden = false;
    $('closure-publish').disabled = false;
    box.focus();
  } catch (e) { errors.fromAPI(e); }
}

// toCall lists the affected appointments without an e-mail address (booked
// by staff for callers): nobody tells them but the office, by phone.
function toCall(res, heading) {
  if (!res.to_call || !res.to_call.length) return null;
  return el('div', { id: 'to-call' },
    el('p', { text: t(heading, { n: res.to_call.length }) }),
    el('ul', {}, res.to_call.map((a) => el('li', { 'data-code': a.code,
      text: `${fmtDate(a.start)}, ${fmtTime(a.start)} · ${a.name} · ${a.phone || '–'} · ${a.code}` }))));
}

async function publish() {
  const form = $('closure-form');
  const errors = errorsFor(form);
  const body = closureBody(form);
  if (JSON.stringify(body) !== previewed) {
    $('closure-publish').disabled = true;
    errors.show([[null, t('admin.preview_stale')]]);
    return;
  }
  try {
    const res = await api(method(), target(), body);
    stopEditing();
    previewed = '';
    $('closure-publish').disabled = true;
    put($('preview'), el('p', { class: 'success', id: 'published', text: t('admin.published', { title: res.closure.title, appts: count('admin.n_appts', res.affected_appointments) }) }),
      toCall(res, 'admin.to_call'));
    $('preview').focus();
    announce(t('admin.published', { title: res.closure.title, appts: count('admin.n_appts', res.affected_appointments) }));
    await loadClosures();
  } catch (e) { errors.fromAPI(e); }
}

async function loadClosures() {
  const list = (await api('GET', `/api/v1/offices/${office.id}/closures`)).closures;
  put($('closure-list'), list.length ? list.map((c) => el('li', { 'data-closure': c.id },
    el('h3', { text: local(c.title) }), el('p', { text: closureRange(c) }), local(c.message) ? el('p', { text: local(c.message) }) : null,
    el('button', { type: 'button', class: 'secondary', text: t('admin.withdraw'), 'aria-label': t('admin.withdraw_named', { title: c.title }),
      onclick: () => askWithdraw(c) }),
    el('button', { type: 'button', class: 'secondary', text: t('admin.change'), 'aria-label': t('admin.change_named', { title: local(c.title) }),
      'data-change': c.id, onclick: () => startEditing(c) }))) : [el('li', { text: t('closures.none') })]);
}

/** startEditing fills the form with closure c; preview and publish then change it. */
function startEditing(c) {
  editing = c;
  const f = $('closure-form');
  const set = (name, v) => { f.elements[name].value = v || ''; };
  set('from', c.from); set('until', c.until); set('from_time', c.from_time); set('until_time', c.until_time);
  set('title_de', (c.titles || {}).de || c.title); set('title_en', (c.titles || {}).en);
  set('message_de', (c.messages || {}).de || c.message); set('message_en', (c.messages || {}).en);
  set('phone', c.phone); set('come_by', c.come_by);
  $('h-new').textContent = t('admin.change_heading', { title: local(c.title) });
  $('closure-edit-cancel').hidden = false;
  $('closure-publish').disabled = true;
  $('preview').hidden = true;
  previewed = '';
  $('h-new').focus();
}

function stopEditing() {
  editing = null;
  $('closure-form').reset();
  $('h-new').textContent = t('admin.new_closure');
  $('closure-edit-cancel').hidden = true;
  previewed = '';
}

function askWithdraw(c) {
  withdrawID = c.id;
  $('withdraw-text').textContent = t('admin.withdraw_text', { title: c.title, range: closureRange(c) });
  $('withdraw-dialog').showModal();
  $('withdraw-keep').focus();
}

async function withdraw() {
  $('withdraw-dialog').close();
  try {
    await api('DELETE', `/api/v1/admin/offices/${office.id}/closures/${encodeURIComponent(withdrawID)}`);
    announce(t('admin.withdrawn'));
    await loadClosures();
  } catch (e) { showError(e); }
}

function showOffice() {
  put($('services'), office.services.map((s) => el('tr', {}, el('td', { text: s.name }), el('td', { text: t('staff.minutes', { n: s.duration_minutes }) }),
    el('td', { text: s.fee || '–' }), el('td', { text: (s.documents || []).join(', ') || '–' }))));
  put($('hours'), DAYS.map((d) => el('tr', {}, el('th', { scope: 'row', text: t('weekday_long.' + d) }),
    el('td', { text: (office.opening_hours[d] || []).map((r) => `${r.start}–${r.end}`).join(', ') || t('calendar.closed') }))));
  $('office-counters').textContent = t('admin.counters', { list: office.counters.join(', ') });
}

async function chooseOffice(id) {
  office = await api('GET', `/api/v1/offices/${id}`);
  setTimeZone(office.timezone);
  showOffice();
  await loadClosures();
}

async function loadUsers(me) {
  const res = await api('GET', '/api/v1/admin/users');
  put($('users'), res.users.map((u) => el('tr', {}, el('td', { text: u.username }), el('td', { text: t('admin.role_' + u.role) }),
    el('td', { text: u.offices.join(', ') || '–' }),
    el('td', {}, u.username === me ? null : el('button', { type: 'button', class: 'secondary', text: t('admin.delete_user'),
      'aria-label': t('admin.delete_user_named', { user: u.username }), 'data-user': u.username,
      onclick: () => deleteUser(u.username, me).catch(showError) })))));
}

async function loadAudit() {
  const res = await api('GET', '/api/v1/admin/audit?limit=50');
  put($('audit'), res.entries.map((e) => el('tr', {}, [fmtDate(e.time, { day: 'numeric', month: 'numeric', hour: '2-digit', minute: '2-digit' }),
    e.actor, e.action, e.target || '–', String(e.status)].map((v) => el('td', { text: v })))));
}

async function deleteUser(name, me) {
  if (!window.confirm(t('admin.delete_user_confirm', { user: name }))) return;
  await api('DELETE', `/api/v1/admin/users/${encodeURIComponent(name)}`);
  announce(t('admin.user_deleted', { user: name }));
  await loadUsers(me);
}

async function saveUser(ev, me) {
  ev.preventDefault();
  const form = $('user-form');
  const errors = fieldErrors(form, $('user-errors'));
  errors.clear();
  const v = (n) => form.elements['new-' + n].value;
  const username = v('username').trim().toLowerCase();
  const missing = [];
  if (!username) missing.push(['new-username', t('admin.username_required')]);
  if (v('password').length < 12) missing.push(['new-password', t('admin.password_required')]);
  if (missing.length) { errors.show(missing); return; }
  const body = { username, role: v('role'), password: v('password'), offices: v('role') === 'staff' ? [office.id] : [] };
  try {
    await api('POST', '/api/v1/admin/users', body);
  } catch (e) {
    const f = e instanceof ApiError && e.field && form.elements['new-' + e.field] ? 'new-' + e.field : null;
    errors.show([[f, e.message]]);
    return;
  }
  form.reset();
  announce(t('admin.user_saved', { user: username }));
  await loadUsers(me);
}

setupPage('admin.title', async () => {
  const user = await session($('login-box'));
  userBar($('user-bar'), user);
  if (user.role !== 'admin') {
    put($('admin'), el('p', { class: 'error', text: t('admin.forbidden') }));
    $('admin').hidden = false;
    return;
  }
  const offices = await userOffices(user);
  put($('office'), offices.map((o) => el('option', { value: o.id, text: o.name })));
  $('users-me').textContent = t('admin.me', { user: user.username, role: user.role });
  await chooseOffice(offices[0].id);
  await loadUsers(user.username);
  await loadAudit();
  $('user-form').addEventListener('submit', (ev) => saveUser(ev, user.username).catch(showError));
  $('office').addEventListener('change', () => chooseOffice($('office').value).catch(showError));
  $('closure-form').addEventListener('submit', preview);
  $('closure-form').addEventListener('input', () => { $('closure-publish').disabled = true; });
  $('closure-publish').addEventListener('click', publish);
  $('closure-edit-cancel').addEventListener('click', () => { stopEditing(); $('preview').hidden = true; $('closure-publish').disabled = true; });
  $('withdraw-confirm').addEventListener('click', withdraw);
  $('withdraw-keep').addEventListener('click', () => $('withdraw-dialog').close());
  $('admin').hidden = false;
}, { nav: staffNav, home: '/staff' });
