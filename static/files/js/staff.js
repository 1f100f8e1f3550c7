// Staff console (/staff): sign in, choose office, counter and services, call
// the next ticket and act on it; the live queue and today's appointments.
import { api, t, el, put, setupPage, setTimeZone, fmtTime, announce, showError } from './app.js';
import { session, staffNav, userOffices, userBar } from './staffauth.js';

const PREF = 'rathaus.staff.';
let office, counter, current = null, stream = null, refreshTimer = 0;
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

async function callNext() {
  try {
    const res = await api('POST', `${staffBase()}/counters/${encodeURIComponent(counter)}/call-next`);
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
  } catch (e) { showError(e); }
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

// cancelCell offers to cancel an active appointment for a citizen who asked
// the office (by phone, at the counter): one click asks, a second one does it.
function cancelCell(a) {
  const cell = el('td', {});
  if (a.status !== 'confirmed' && a.status !== 'unverified') return cell;
  const ask = () => put(cell, el('button', { type: 'button', class: 'appt-cancel', 'data-id': a.id,
    'aria-label': t('staff.cancel_appt_label', { code: a.code }), text: t('staff.cancel_appt'), onclick: confirmNow }));
  function confirmNow() {
    put(cell, el('span', { text: t('staff.cancel_appt_confirm') + ' ' }),
      el('button', { type: 'button', class: 'appt-cancel-yes', text: t('staff.cancel_appt_yes'), onclick: cancelNow }),
      el('button', { type: 'button', class: 'appt-cancel-no', text: t('staff.cancel_appt_no'), onclick: () => { ask(); cell.querySelector('button').focus(); } }));
    cell.querySelector('.appt-cancel-no').focus();
  }
  async function cancelNow(ev) {
    ev.currentTarget.disabled = true; // one request, however often it is clicked
    try {
      await api('POST', `${staffBase()}/appointments/${encodeURIComponent(a.id)}/cancel`);
    } catch (e) { showError(e); ask(); return; }
    announce(t('staff.cancelled_appt', { code: a.code }));
    $('appointments').closest('.table-wrap').focus(); // the row's buttons go away
    loadAppointments().catch(() => {}); // the next refresh shows it if this one fails
  }
  ask();
  return cell;
}

async function loadAppointments() {
  const res = await api('GET', `${staffBase()}/appointments`);
  const rows = res.appointments.map((a) => el('tr', { 'data-code': a.code, 'data-status': a.status },
    el('td', { text: `${fmtTime(a.start)}–${fmtTime(a.end)}` }), el('td', { text: a.code }), el('td', { text: serviceName(a.service) }),
    el('td', { text: a.name }), el('td', { text: t('status.' + a.status) }), cancelCell(a)));
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
  $('console').hidden = false;
}, { nav: staffNav, home: '/staff' });
