// Booking page (/): service → day → time → name and e-mail → confirmation.
import { api, t, el, setupPage, officeId, showBanner, setTimeZone, fmtDate, fmtTime, announce, lang, ApiError, showError } from './app.js';
import { Picker } from './calendar.js';
import { fieldErrors } from './forms.js';
import { powHeaders } from './pow.js';

let office, service, slot, hold = null;

/** release lets the held seat go (when another time or service is chosen). */
function release() {
  if (hold) api('DELETE', `/api/v1/offices/${office.id}/holds/${encodeURIComponent(hold.id)}`).catch(() => {});
  hold = null;
}

function serviceChoice(s) {
  const details = [t('booking.minutes', { n: s.duration_minutes })];
  if (s.fee) details.push(t('booking.fee', { fee: s.fee }));
  if (s.documents && s.documents.length) details.push(t('booking.bring', { list: s.documents.join(', ') }));
  return el('li', { class: 'choice' },
    el('input', { type: 'radio', name: 'service', id: 'svc-' + s.id, value: s.id, onchange: () => pickService(s) }),
    el('label', { for: 'svc-' + s.id }, s.name, el('span', { class: 'details', text: details.join(' · ') })));
}

async function pickService(s) {
  release();
  service = s; slot = null;
  document.getElementById('step-form').hidden = true;
  document.getElementById('step-day').hidden = false;
  await new Picker(document.getElementById('calendar'), office.id, s.id, pickSlot).show();
  announce(t('booking.service_chosen', { service: s.name }));
}

async function pickSlot(s) {
  release();
  slot = s;
  let held = '';
  try {
    // The seat is kept for this person while the form is filled in.
    hold = (await api('POST', `/api/v1/offices/${office.id}/holds`, { service: service.id, start: s.start })).hold;
    held = ' ' + t('booking.held', { time: fmtTime(hold.expires_at) });
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      showError(e);
      await new Picker(document.getElementById('calendar'), office.id, service.id, pickSlot).show();
      return;
    }
  }
  const form = document.getElementById('step-form');
  form.hidden = false;
  document.getElementById('chosen').textContent = t('booking.chosen', { service: service.name, date: fmtDate(s.start), time: fmtTime(s.start) }) + '.' + held;
  document.getElementById('h-form').focus();
}

async function submit(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const errors = fieldErrors(form, document.getElementById('form-errors'));
  errors.clear();
  const body = { service: service.id, start: slot.start, name: form.name.value.trim(), email: form.email.value.trim(), locale: lang };
  if (form.phone.value.trim()) body.phone = form.phone.value.trim();
  if (hold) body.hold = hold.id;
  const missing = [];
  if (!body.name) missing.push(['name', t('booking.name_required')]);
  if (!body.email) missing.push(['email', t('booking.email_required')]);
  if (missing.length) { errors.show(missing); return; }
  const btn = document.getElementById('book-submit');
  btn.disabled = true;
  try {
    const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    const headers = { 'Idempotency-Key': key, ...(await powHeaders(office)) };
    const res = await api('POST', `/api/v1/offices/${office.id}/appointments`, body, { headers });
    hold = null;
    done(res);
  } catch (e) {
    if (e instanceof ApiError && e.field && form.elements[e.field]) errors.show([[e.field, e.message]]);
    else errors.show([[null, e.message]]);
    if (e instanceof ApiError && e.status === 409) {
      document.getElementById('step-form').hidden = true;
      await new Picker(document.getElementById('calendar'), office.id, service.id, pickSlot).show();
    }
  } finally {
    btn.disabled = false;
  }
}

function done(res) {
  const a = res.appointment;
  for (const id of ['step-service', 'step-day', 'step-form']) document.getElementById(id).hidden = true;
  const manage = '/a/' + encodeURIComponent(res.token);
  document.getElementById('done').replaceChildren(
    a.status === 'unverified' ? el('p', { class: 'banner', text: t('booking.verify_mail') }) : el('p', { class: 'success', text: t('booking.confirmed_mail') }),
    el('dl', { class: 'facts' },
      el('dt', { text: t('appt.code') }), el('dd', { class: 'code', id: 'appt-code', text: a.code }),
      el('dt', { text: t('appt.service') }), el('dd', { text: service.name }),
      el('dt', { text: t('appt.when') }), el('dd', { text: `${fmtDate(a.start)}, ${fmtTime(a.start)}–${fmtTime(a.end)}` }),
      el('dt', { text: t('appt.where') }), el('dd', { text: office.name + (office.address ? ', ' + office.address : '') })),
    el('p', { text: t('booking.code_hint') }),
    el('div', { class: 'actions' },
      el('a', { class: 'button', href: `/api/v1/appointments/${encodeURIComponent(res.token)}/ics`, download: 'termin.ics', text: t('booking.ics') }),
      el('a', { class: 'button secondary', id: 'manage-link', href: manage, text: t('booking.manage') })),
    el('p', { class: 'hint', text: t('booking.manage_hint') }));
  document.getElementById('step-done').hidden = false;
  document.getElementById('h-done').focus();
}

setupPage('booking.title', async () => {
  const id = await officeId();
  office = await api('GET', `/api/v1/offices/${id}`);
  setTimeZone(office.timezone);
  showBanner(office);
  document.getElementById('office-name').textContent = office.name;
  document.getElementById('services').replaceChildren(...office.services.map(serviceChoice));
  document.getElementById('book-form').addEventListener('submit', (ev) => submit(ev).catch(showError));
});
