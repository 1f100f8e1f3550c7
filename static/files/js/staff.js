// Staff console (/staff): sign in, choose office, counter and services, call
// the next ticket and act on it; the live queue and today's appointments.
import { api, ApiError, t, el, put, setupPage, setTimeZone, fmtDate, fmtTime, announce, showError } from './app.js';
import { session, staffNav, userOffices, userBar } from './staffauth.js';
import { Picker } from './calendar.js';
import { fieldErrors } from './forms.js';

const PREF = 'rathaus.staff.';
let office, counter, current = null, stream = null, refreshTimer = 0;
// listing is what the appointment list shows: { date } (YYYY-MM-DD; '' is
// the office's today) or { code }; moving is the appointment being moved.
let listing = { date: '' }, moving = null, moveSlot = null, bookSlot = null;
const $ = (id) => document.getElementById(id);
const staffBase = () => `/api/v1/staff/offices/${office.id}`;

function remember(k, v) { try { localStorage.setItem(PREF + k, v); } catch { /* private mode */ } }
function recall(k) { try { return localStorage.getItem(PREF + k) || ''; } catch { return ''; } }

function serviceName(id) {
  const s = office.services.find((x) => x.id === id);
  return s ? s.name : id;
}

/** renderTickets lists today's open tickets: waiting (in order) and parked ones. */
function renderTickets(list) {
  const open = list.filter((tk) => tk.status === 'waiting' || tk.status === 'parked' || tk.status === 'called');
  put($('tickets'), open.map((tk) => el('tr', { 'data-number': tk.number, 'data-status': tk.status },
    el('td', { text: tk.number }), el('td', { text: serviceName(tk.service) }),
    el('td', { text: t('ticket_status.' + tk.status) + (tk.counter ? ' · ' + t('staff.counter_n', { id: tk.counter }) : '') }),
    el('td', { text: tk.appointment_at ? fmtTime(tk.appointment_at) : '–' }),
    el('td', {}, tk.status === 'parked' ? el('button', { type: 'button', class: 'secondary', text: t('staff.unpark', { number: tk.number }), onclick: () => act('unpark', tk.number) }) : ''))));
  $('tickets-empty').hidden = open.length > 0;
}

function renderCurrent() {
  const box = $('current');
  for (const b of document.querySelectorAll('[data-action], #transfer-form button')) b.disabled = !current;
  if (!current) { put(box, el('p', { id: 'no-current', text: t('staff.no_current') })); return; }
  put(box,
    el('p', { class: 'current-number', id: 'current-number', text: current.number }),
    el('p', { text: `${serviceName(current.service)} · ${t('ticket_status.' + current.status)}` }),
    current.appointment ? el('p', { text: t('staff.with_appointment') }) : null);
}

async function act(action, number = current && current.number) {
  try {
    const body = action === 'transfer' ? { service: $('transfer-service').value } : undefined;
    const res = await api('POST', `${staffBase()}/tickets/${encodeURIComponent(number)}/${action}`, body);
    const tk = res.ticket;
    current = ['finish', 'no-show', 'park', 'transfer'].includes(action) ? null : (action === 'unpark' ? current : tk);
    renderCurrent();
    announce(t('staff.done_' + action.replace('-', '_'), { number: tk.number }));
    refreshSoon();
  } catch (e) { showError(e); }
}

// callKey marks a press of "call next" until its outcome is known: a press
// after a call whose answer was lost (a restart, a network cut) sends the same
// key, and the server returns the ticket that call got instead of finishing it
// unseen. Once the console shows the counter changed since that press
// (refreshQueue), the outcome is on screen and the next press is a new call.
let callKey = null;
let callUncertain = false; // an attempt with callKey got no answer, or a 5xx
let callFrom = null; // the counter's called ticket when callKey's press began

function newCallKey() {
  const b = new Uint8Array(16);
  window.crypto.getRandomValues(b); // also where randomUUID is missing (plain http)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function callNext() {
  if (!callKey) {
    callKey = newCallKey();
    callUncertain = false;
    callFrom = current ? current.number : null;
  }
  try {
    const res = await api('POST', `${staffBase()}/counters/${encodeURIComponent(counter)}/call-next`, undefined,
      { headers: { 'Idempotency-Key': callKey } });
    callKey = null;
    callUncertain = false;
    if (!res) {
      current = null;
      renderCurrent();
      put($('current'), el('p', { id: 'nobody', text: t('staff.nobody') }));
      announce(t('staff.nobody'));
      return;
    }
    current = res.ticket;
    renderCurrent();
    announce(t('staff.called', { number: current.number }));
    refreshSoon();
  } catch (e) {
    // Without an answer, or with a 5xx, the call may have reached the server:
    // the next press retries it with the same key. A refusal (4xx) changed
    // nothing — but an earlier attempt with the key may have, so the key is
    // kept until an answer (or the refreshed counter) tells.
    if (!(e.status >= 400 && e.status < 500)) callUncertain = true;
    else if (!callUncertain) callKey = null;
    showError(e);
    refreshSoon();
  }
}

async function refreshQueue() {
  const [d, cs, tickets] = await Promise.all([api('GET', `/api/v1/offices/${office.id}/display`), api('GET', `${staffBase()}/counters`),
    api('GET', `${staffBase()}/tickets`).catch(() => ({ tickets: [] }))]);
  renderTickets(tickets.tickets || []);
  $('queue-total').textContent = t('display.waiting_total', { n: d.waiting, counters: d.open_counters });
  put($('queue'), (d.services || []).map((s) => el('tr', {}, el('td', { text: s.service_name }), el('td', { text: String(s.waiting) }), el('td', { text: t('staff.minutes', { n: s.estimated_wait_minutes }) }))));
  put($('counters'), cs.counters.map((c) => el('li', { 'data-counter': c.id, 'data-open': String(c.open) },
    t(c.open ? 'staff.counter_open' : 'staff.counter_closed', { id: c.id }) + (c.current ? ' · ' + c.current : '') + (c.by ? ' · ' + c.by : ''))));
  const mine = cs.counters.find((c) => c.id === counter);
  if (callKey && callUncertain && mine && (mine.current || null) !== callFrom) {
    callKey = null; // the lost call's outcome is on screen now
    callUncertain = false;
  }
  $('counter-state').textContent = mine ? t(mine.open ? 'staff.counter_open' : 'staff.counter_closed', { id: mine.id }) : '';
  if (mine && mine.current && (!current || current.number !== mine.current)) {
    try { current = (await api('GET', `${staffBase()}/tickets/${encodeURIComponent(mine.current)}`)).ticket; } catch { current = null; }
    renderCurrent();
  }
}

function refreshSoon() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => refreshQueue().catch(() => {}), 250);
}

// actionsCell offers, for an active appointment of a citizen who asked the
// office (by phone, at the counter), to move it or to cancel it: one click
// asks to cancel, a second one does it.
function actionsCell(a) {
  const cell = el('td', {});
  const byClosure = a.status === 'cancelled' && (a.cancel_reason || '').startsWith('closure:');
  if (a.status !== 'confirmed' && a.status !== 'unverified' && !byClosure) return cell; // the server refuses those that are over
  if (a.checked_in_at) return cell; // checked in: the ticket waits in the queue
  const box = el('div', { class: 'row-actions' });
  const move = el('button', { type: 'button', class: 'secondary appt-move', 'data-id': a.id,
    'aria-label': t(byClosure ? 'staff.rebook_appt_label' : 'staff.move_appt_label', { code: a.code }),
    text: t(byClosure ? 'staff.rebook_appt' : 'staff.move_appt'), onclick: () => moveOpen(a) });
  const cancel = el('span', {});
  box.append(move, cancel);
  cell.append(box);
  if (byClosure) return cell; // cancelled by a closure: it can be booked again, not cancelled
  const ask = () => put(cancel, el('button', { type: 'button', class: 'appt-cancel', 'data-id': a.id,
    'aria-label': t('staff.cancel_appt_label', { code: a.code }), text: t('staff.cancel_appt'), onclick: confirmNow }));
  function confirmNow() {
    put(cancel, el('span', { text: t('staff.cancel_appt_confirm') + ' ' }),
      el('button', { type: 'button', class: 'appt-cancel-yes', text: t('staff.cancel_appt_yes'), onclick: cancelNow }),
      el('button', { type: 'button', class: 'appt-cancel-no', text: t('staff.cancel_appt_no'), onclick: () => { ask(); cancel.querySelector('button').focus(); } }));
    cancel.querySelector('.appt-cancel-no').focus();
  }
  async function cancelNow(ev) {
    ev.currentTarget.disabled = true; // one request, however often it is clicked
    try {
      await api('POST', `${staffBase()}/appointments/${encodeURIComponent(a.id)}/cancel`);
    } catch (e) { showError(e); ask(); return; }
    announce(t('staff.cancelled_appt', { code: a.code }));
    $('appointments-wrap').focus(); // the row's buttons go away
    loadAppointments().catch(() => {}); // the next refresh shows it if this one fails
  }
  ask();
  return cell;
}

// bookOpen starts a booking for a caller: service, then a day and a time in
// the calendar, then name and how to reach the person.
function bookOpen() {
  if (!$('move-box').hidden) moveClose(false); // one calendar at a time
  $('book-done').hidden = true;
  $('book-print').hidden = true;
  $('book-box').hidden = false;
  put($('book-service'), office.services.map((s) => el('option', { value: s.id, text: s.name })));
  bookPick();
  $('h-book').focus();
}

function bookPick() {
  bookSlot = null;
  $('staff-book-form').hidden = true;
  put($('book-calendar')); // the old calendar goes at once, not when the new one arrives
  fieldErrors($('staff-book-form'), $('book-errors')).clear();
  new Picker($('book-calendar'), office.id, $('book-service').value, (s) => {
    fieldErrors($('staff-book-form'), $('book-errors')).clear(); // a message about the time before goes
    bookSlot = s;
    $('book-chosen').textContent = t('staff.book_at', { date: fmtDate(s.start), time: fmtTime(s.start) });
    $('staff-book-form').hidden = false;
    $('book-name').focus();
  }).show().catch(showError);
}

function bookClose(focus = true) {
  bookSlot = null;
  $('book-box').hidden = true;
  $('staff-book-form').hidden = true;
  put($('book-calendar'));
  if (focus) $('book-open').focus();
}

async function bookSubmit(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const errors = fieldErrors(form, $('book-errors'));
  errors.clear();
  if (!bookSlot) return;
  const body = { service: $('book-service').value, start: bookSlot.start, name: form.name.value.trim(), locale: form.locale.value };
  if (form.phone.value.trim()) body.phone = form.phone.value.trim();
  if (form.email.value.trim()) body.email = form.email.value.trim();
  const missing = [];
  if (!body.name) missing.push(['name', t('staff.name_required')]);
  if (!body.phone && !body.email) missing.push(['phone', t('staff.contact_required')]);
  if (missing.length) { errors.show(missing); return; }
  const btn = $('staff-book-submit');
  btn.disabled = true; // one request, however often it is clicked
  let a;
  try {
    a = (await api('POST', `${staffBase()}/appointments`, body)).appointment;
  } catch (e) {
    if (e instanceof ApiError && e.code === 'slot_taken') bookPick(); // the time was taken meanwhile: choose again (the message stays above the calendar)
    if (e instanceof ApiError && e.field && form.elements[e.field]) errors.show([[e.field, e.message]]);
    else errors.show([[null, e instanceof ApiError ? e.message : t('common.unknown_error')]]);
    return;
  } finally {
    btn.disabled = false;
  }
  form.reset();
  bookClose(false);
  slip(a);
  const done = $('book-done');
  done.textContent = t('staff.booked_appt', { code: a.code, date: fmtDate(a.start), time: fmtTime(a.start) });
  done.dataset.code = a.code;
  done.hidden = false;
  done.focus();
  listing = { date: a.start.slice(0, 10) }; // the office's date of the new appointment
  await loadAppointments().catch(showError); // booked; a failed reload is the list's problem
}

// slip fills the printable confirmation of appointment a (the citizen at the
// counter takes it home; on screen it is hidden) and offers to print it.
function slip(a) {
  const svc = office.services.find((x) => x.id === a.service) || { name: a.service, documents: [] };
  const phone = office.phone ? ' (' + office.phone + ')' : '';
  put($('print-slip'),
    el('h2', { text: t('staff.slip_heading') }),
    el('p', { text: t('staff.slip_code') }),
    el('p', { class: 'slip-code', text: a.code }),
    el('dl', {},
      el('dt', { text: t('staff.slip_when') }), el('dd', { text: `${fmtDate(a.start)}, ${fmtTime(a.start)}–${fmtTime(a.end)}` }),
      el('dt', { text: t('staff.slip_what') }), el('dd', { text: svc.name }),
      el('dt', { text: t('staff.slip_where') }), el('dd', { text: [office.name, office.address].filter(Boolean).join(', ') }),
      svc.documents && svc.documents.length ? el('dt', { text: t('staff.slip_bring') }) : null,
      svc.documents && svc.documents.length ? el('dd', { text: svc.documents.join(', ') }) : null),
    el('p', { text: t('staff.slip_change', { phone }) }));
  $('book-print').hidden = false;
}

function moveOpen(a) {
  if (!$('book-box').hidden) bookClose(false); // one calendar at a time
  moving = a;
  const rebook = a.status === 'cancelled';
  $('h-move').textContent = t(rebook ? 'staff.rebook_heading' : 'staff.move_heading', { code: a.code, name: a.name });
  $('move-submit').textContent = t(rebook ? 'staff.rebook_submit' : 'staff.move_submit');
  $('move-error').hidden = true;
  $('move-box').hidden = false;
  $('h-move').focus();
  movePick(a);
}

function movePick(a) {
  moveSlot = null;
  $('move-confirm').hidden = true;
  put($('move-calendar')); // the old calendar goes at once, not when the new one arrives
  new Picker($('move-calendar'), office.id, a.service, (s) => {
    $('move-error').hidden = true; // a message about the time before goes
    moveSlot = s;
    $('move-chosen').textContent = t('staff.move_to', { date: fmtDate(s.start), time: fmtTime(s.start) });
    $('move-confirm').hidden = false;
    $('move-submit').focus();
  }).show().catch(showError);
}

function moveClose(focus = true) {
  const id = moving && moving.id;
  moving = null;
  $('move-box').hidden = true;
  put($('move-calendar'));
  if (!focus) return;
  const back = id && document.querySelector(`#appointments button.appt-move[data-id="${id}"]`);
  (back || $('appointments-wrap')).focus(); // back to the row's button, if the row is still listed
}

async function moveSubmit(ev) {
  if (!moving || !moveSlot) return;
  let moved;
  const btn = ev.currentTarget;
  btn.disabled = true; // one request, however often it is clicked
  try {
    const res = await api('POST', `${staffBase()}/appointments/${encodeURIComponent(moving.id)}/reschedule`, { start: moveSlot.start });
    const a = res.appointment;
    if (listing.code && a.code !== listing.code) listing = { code: a.code }; // the new day had the code: it got another
    moved = a;
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : t('common.unknown_error');
    if (e instanceof ApiError && e.code === 'slot_taken' && moving) movePick(moving); // taken meanwhile: choose again
    const box = $('move-error');
    box.textContent = msg;
    box.hidden = false;
    box.focus(); // read out as it gets the focus
    return;
  } finally { btn.disabled = false; }
  moveClose(false);
  announce(t('staff.moved_appt', { code: moved.code, date: fmtDate(moved.start), time: fmtTime(moved.start) }));
  await loadAppointments().catch(showError); // the move worked; a failed reload is the list's problem
  const row = document.querySelector(`#appointments button.appt-move[data-id="${moved.id}"]`);
  (row || $('appointments-wrap')).focus();
}

async function loadAppointments() {
  const q = listing.code ? `?code=${encodeURIComponent(listing.code)}` : (listing.date ? `?date=${listing.date}` : '');
  const res = await api('GET', `${staffBase()}/appointments${q}`);
  if (res.date) $('appt-day').value = res.date;
  $('appt-listing').textContent = res.code ? t('staff.listing_code', { code: res.code }) : t('staff.listing_day', { date: fmtDate(res.date) });
  $('appt-listing').dataset.listing = res.code ? 'code:' + res.code : 'date:' + res.date;
  const when = (a) => (res.code ? fmtDate(a.start, { weekday: 'short', day: 'numeric', month: 'numeric', year: 'numeric' }) + ' ' : '') + `${fmtTime(a.start)}–${fmtTime(a.end)}`;
  const rows = res.appointments.map((a) => el('tr', { 'data-code': a.code, 'data-status': a.status, 'data-id': a.id, 'data-start': a.start },
    el('td', { text: when(a) }), el('td', { text: a.code }), el('td', { text: serviceName(a.service) }),
    el('td', { text: a.name }), el('td', { text: [a.phone, a.email].filter(Boolean).join(' · ') || '–' }),
    el('td', { text: a.status === 'cancelled' && (a.cancel_reason || '').startsWith('closure:') ? t('staff.cancelled_by_closure') : t('status.' + a.status) }),
    actionsCell(a)));
  put($('appointments'), rows);
  $('appointments-empty').hidden = rows.length > 0;
}

function follow() {
  if (stream) stream.close();
  stream = new EventSource(`/api/v1/offices/${office.id}/display/stream`);
  for (const name of ['called', 'issued', 'finished', 'no_show', 'parked', 'transferred', 'waiting', 'message']) stream.addEventListener(name, refreshSoon);
}

async function chooseOffice(id, offices) {
  office = await api('GET', `/api/v1/offices/${id}`);
  setTimeZone(office.timezone);
  remember('office', id);
  put($('office'), offices.map((o) => el('option', { value: o.id, selected: o.id === id, text: o.name })));
  const saved = recall('counter');
  counter = office.counters.includes(saved) ? saved : office.counters[0];
  put($('counter'), office.counters.map((c) => el('option', { value: c, selected: c === counter, text: t('staff.counter_n', { id: c }) })));
  const chosen = (recall('services') || '').split(',').filter(Boolean);
  put($('service-boxes'), office.services.map((s) => el('li', {},
    el('input', { type: 'checkbox', id: 'svc-' + s.id, name: 'services', value: s.id, checked: !chosen.length || chosen.includes(s.id) }),
    el('label', { for: 'svc-' + s.id, text: s.name }))));
  put($('transfer-service'), office.services.map((s) => el('option', { value: s.id, text: s.name })));
  current = null;
  renderCurrent();
  await Promise.all([refreshQueue(), loadAppointments()]);
  follow();
}

async function openCounter(ev) {
  ev.preventDefault();
  counter = $('counter').value;
  remember('counter', counter);
  const services = [...document.querySelectorAll('#service-boxes input:checked')].map((i) => i.value);
  remember('services', services.join(','));
  try {
    await api('POST', `${staffBase()}/counters/${encodeURIComponent(counter)}/open`, { services });
    announce(t('staff.counter_open', { id: counter }));
    await refreshQueue();
  } catch (e) { showError(e); }
}

async function closeCounter() {
  counter = $('counter').value;
  try {
    await api('POST', `${staffBase()}/counters/${encodeURIComponent(counter)}/close`);
    announce(t('staff.counter_closed', { id: counter }));
    await refreshQueue();
  } catch (e) { showError(e); }
}

setupPage('staff.title', async () => {
  const user = await session($('login-box'));
  userBar($('user-bar'), user);
  const offices = await userOffices(user);
  if (!offices.length) throw new Error('no office');
  const saved = recall('office');
  await chooseOffice(offices.some((o) => o.id === saved) ? saved : offices[0].id, offices);
  $('office').addEventListener('change', () => chooseOffice($('office').value, offices).catch(showError));
  $('counter').addEventListener('change', () => { counter = $('counter').value; remember('counter', counter); current = null; renderCurrent(); refreshSoon(); });
  $('setup-form').addEventListener('submit', openCounter);
  $('counter-close').addEventListener('click', closeCounter);
  $('call-next').addEventListener('click', callNext);
  for (const b of document.querySelectorAll('[data-action]')) b.addEventListener('click', () => act(b.dataset.action));
  $('transfer-form').addEventListener('submit', (ev) => { ev.preventDefault(); act('transfer'); });
  $('appt-day-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    listing = { date: $('appt-day').value };
    loadAppointments().catch(showError);
  });
  $('appt-code-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    listing = { code: $('appt-code').value.trim() };
    loadAppointments().catch(showError);
  });
  $('move-submit').addEventListener('click', moveSubmit);
  $('move-close').addEventListener('click', () => moveClose());
  $('book-open').addEventListener('click', bookOpen);
  $('book-print').addEventListener('click', () => { document.body.dataset.printed = '1'; window.print(); });
  $('book-service').addEventListener('change', bookPick);
  $('staff-book-form').addEventListener('submit', bookSubmit);
  $('book-close').addEventListener('click', () => bookClose());
  $('console').hidden = false;
}, { nav: staffNav, home: '/staff' });
