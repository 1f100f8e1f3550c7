// Manage page (/a/{token}): see, confirm (?verify=1), cancel or move an appointment.
import { api, t, el, put, setupPage, showBanner, setTimeZone, fmtDate, fmtTime, pathPart, announce, showError } from './app.js';
import { Picker } from './calendar.js';

const token = pathPart(1);
const base = `/api/v1/appointments/${encodeURIComponent(token)}`;
// A closure's mail links here with ?rebook=<suggested start>.
const rebook = new URLSearchParams(location.search).get('rebook');
let appt, office, newSlot;

function serviceName(id) {
  const s = office && office.services.find((x) => x.id === id);
  return s ? s.name : id;
}

function render() {
  const a = appt;
  put(document.getElementById('appt'),
    el('dl', { class: 'facts' },
      el('dt', { text: t('appt.status') }), el('dd', { id: 'appt-status', 'data-status': a.status, text: t('status.' + a.status) }),
      el('dt', { text: t('appt.code') }), el('dd', { class: 'code', text: a.code }),
      el('dt', { text: t('appt.service') }), el('dd', { text: serviceName(a.service) }),
      el('dt', { text: t('appt.when') }), el('dd', { id: 'appt-when', text: `${fmtDate(a.start)}, ${fmtTime(a.start)}–${fmtTime(a.end)}` }),
      el('dt', { text: t('appt.where') }), el('dd', { text: office ? office.name : a.office }),
      el('dt', { text: t('appt.name') }), el('dd', { text: a.name })),
    a.status === 'unverified' && a.verify_by ? el('p', { class: 'banner', text: t('manage.verify_by', { date: fmtDate(a.verify_by), time: fmtTime(a.verify_by) }) }) : null);
  const active = a.status === 'confirmed' || a.status === 'unverified';
  document.getElementById('manage-actions').hidden = !active;
  if (!active && !rebook) document.getElementById('move-box').hidden = true;
  document.getElementById('ics-link').href = base + '/ics';
}

async function verify() {
  const box = document.getElementById('verify-box');
  box.hidden = false;
  if (appt.status !== 'unverified') {
    if (appt.status === 'confirmed') box.replaceChildren(el('p', { class: 'success', text: t('manage.verified') }));
    return;
  }
  const res = await api('POST', base + '/confirm');
  appt = res.appointment;
  box.replaceChildren(el('p', { class: 'success', role: 'status', text: t('manage.verified') }));
}

function cancelFlow() {
  const dlg = document.getElementById('cancel-dialog');
  document.getElementById('cancel-text').textContent = t('manage.cancel_text', { service: serviceName(appt.service), date: fmtDate(appt.start), time: fmtTime(appt.start) });
  dlg.showModal();
  document.getElementById('cancel-keep').focus();
}

async function cancelConfirmed() {
  document.getElementById('cancel-dialog').close();
  try {
    const res = await api('DELETE', base);
    appt = res.appointment;
    render();
    const note = el('p', { class: 'success', id: 'cancel-done', tabindex: '-1', text: t('manage.cancelled') });
    document.getElementById('verify-box').replaceChildren(note, el('p', {}, el('a', { href: '/', text: t('manage.book_new') })));
    document.getElementById('verify-box').hidden = false;
    note.focus();
    announce(t('manage.cancelled'));
  } catch (e) { showError(e); }
}

async function moveOpen() {
  const box = document.getElementById('move-box');
  box.hidden = false;
  document.getElementById('move-confirm').hidden = true;
  await new Picker(document.getElementById('calendar'), appt.office, appt.service, (s) => {
    newSlot = s;
    document.getElementById('move-chosen').textContent = t('manage.move_to', { date: fmtDate(s.start), time: fmtTime(s.start) });
    document.getElementById('move-confirm').hidden = false;
    document.getElementById('move-submit').focus();
  }).show();
  document.getElementById('h-move').focus();
}

async function moveSubmit() {
  try {
    const res = await api('POST', base + '/reschedule', { start: newSlot.start });
    appt = res.appointment;
    render();
    document.getElementById('move-box').hidden = true;
    const note = el('p', { class: 'success', tabindex: '-1', text: t('manage.moved', { date: fmtDate(appt.start), time: fmtTime(appt.start) }) });
    document.getElementById('verify-box').replaceChildren(note);
    document.getElementById('verify-box').hidden = false;
    note.focus();
  } catch (e) { showError(e); }
}

/** offerRebook offers the suggested time of a closure mail, or another one. */
function offerRebook() {
  const box = document.getElementById('verify-box');
  const when = new Date(rebook);
  const valid = !Number.isNaN(when.getTime());
  put(box, el('div', { class: 'banner' },
    el('h2', { text: t('manage.rebook_heading') }),
    el('p', { text: t('manage.rebook_text') }),
    valid ? el('p', {}, el('button', { type: 'button', id: 'rebook-suggested', onclick: () => { newSlot = { start: rebook }; moveSubmit(); },
      text: t('manage.rebook_take', { date: fmtDate(rebook), time: fmtTime(rebook) }) })) : null,
    el('p', {}, el('button', { type: 'button', class: 'secondary', id: 'rebook-other', onclick: () => moveOpen().catch(showError), text: t('manage.rebook_other') }))));
  box.hidden = false;
}

setupPage('manage.title', async () => {
  appt = (await api('GET', base)).appointment;
  try {
    office = await api('GET', `/api/v1/offices/${appt.office}`);
    setTimeZone(office.timezone);
    showBanner(office);
  } catch { office = null; }
  if (new URLSearchParams(location.search).get('verify') === '1') await verify();
  render();
  if (rebook && appt.status === 'cancelled') offerRebook();
  document.getElementById('cancel-open').addEventListener('click', cancelFlow);
  document.getElementById('cancel-keep').addEventListener('click', () => document.getElementById('cancel-dialog').close());
  document.getElementById('cancel-confirm').addEventListener('click', cancelConfirmed);
  document.getElementById('move-open').addEventListener('click', () => moveOpen().catch(showError));
  document.getElementById('move-submit').addEventListener('click', moveSubmit);
});
