// Kiosk (/kiosk/{office}): big buttons per service, check-in with the
// appointment code, a printed ticket with a QR code to its live status page,
// and back to the start by itself.
import { api, t, el, put, setupPage, showBanner, setTimeZone, fmtTime, pathPart, announce, ApiError, showError } from './app.js';
import { fieldErrors } from './forms.js';
import { qrSVG } from './qr.js';
import { powHeaders } from './pow.js';

const officeID = pathPart(1);
// Seconds until the kiosk returns to the start (?reset=N for trying out).
const RESET = Number(new URLSearchParams(location.search).get('reset')) || 30;
let office, timer, countdown;

function screen(id) {
  for (const s of ['start', 'code-screen', 'ticket-screen']) document.getElementById(s).hidden = s !== id;
  window.clearInterval(timer);
  if (id !== 'start') startTimer(id);
}

/** startTimer returns to the start after RESET seconds without a touch. */
function startTimer(id) {
  countdown = RESET;
  const note = document.getElementById('kiosk-return');
  const tick = () => {
    if (id === 'ticket-screen') note.textContent = t('kiosk.returning', { n: countdown });
    if (countdown-- <= 0) backToStart();
  };
  tick();
  timer = window.setInterval(tick, 1000);
}

function backToStart() {
  window.clearInterval(timer);
  put(document.getElementById('ticket'));
  document.getElementById('code').value = '';
  screen('start');
  document.getElementById('h-start').setAttribute('tabindex', '-1');
  document.getElementById('h-start').focus();
}

function serviceName(id) {
  const s = office.services.find((x) => x.id === id);
  return s ? s.name : id;
}

function showTicket(res) {
  const tk = res.ticket;
  const url = location.origin + '/t/' + encodeURIComponent(res.token);
  put(document.getElementById('ticket'),
    el('p', { class: 'ticket-office', text: office.name }),
    el('p', { class: 'ticket-label', text: t('kiosk.your_number') }),
    el('p', { class: 'ticket-number', id: 'ticket-number', text: tk.number }),
    el('p', { class: 'ticket-service', text: serviceName(tk.service) }),
    tk.appointment_at ? el('p', { text: t('kiosk.appt_at', { time: fmtTime(tk.appointment_at) }) }) : null,
    el('p', { text: t('kiosk.position', { n: tk.position, min: tk.estimated_wait_minutes }) }),
    el('p', { class: 'ticket-time', text: t('kiosk.drawn_at', { time: fmtTime(new Date()) }) }),
    qrSVG(url, t('kiosk.qr_label')),
    el('p', { class: 'ticket-qr-text', text: t('kiosk.qr_text') }),
    el('p', { class: 'ticket-url', text: url }));
  screen('ticket-screen');
  document.getElementById('h-ticket').focus();
  announce(t('kiosk.number_is', { number: tk.number }));
  window.setTimeout(() => window.print(), 100);
}

async function draw(service) {
  try {
    showTicket(await api('POST', `/api/v1/offices/${officeID}/tickets`, { service }, { headers: await powHeaders(office) }));
  } catch (e) { showError(e); }
}

async function checkIn(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const errors = fieldErrors(form, document.getElementById('code-errors'));
  errors.clear();
  const code = form.code.value.trim().toUpperCase();
  if (!code) { errors.show([['code', t('kiosk.code_required')]]); return; }
  try {
    showTicket(await api('POST', `/api/v1/offices/${officeID}/checkins`, { code }));
  } catch (e) {
    errors.show([[e instanceof ApiError && e.status !== 0 ? 'code' : null, e.message]]);
  }
}

setupPage('kiosk.title', async () => {
  office = await api('GET', `/api/v1/offices/${officeID}`);
  setTimeZone(office.timezone);
  showBanner(office);
  put(document.getElementById('kiosk-services'), office.services.map((s) => el('li', {},
    el('button', { type: 'button', class: 'kiosk-button', 'data-service': s.id, onclick: () => draw(s.id) },
      el('span', { class: 'kiosk-letter', 'aria-hidden': 'true', text: s.letter || '' }), s.name))));
  document.getElementById('have-appt').addEventListener('click', () => { screen('code-screen'); document.getElementById('code').focus(); });
  document.getElementById('code-back').addEventListener('click', backToStart);
  document.getElementById('code-form').addEventListener('submit', checkIn);
  document.getElementById('ticket-done').addEventListener('click', backToStart);
  document.getElementById('ticket-print').addEventListener('click', () => window.print());
  // Any touch restarts the countdown, so nobody is cut off while typing.
  document.addEventListener('pointerdown', () => { countdown = RESET; });
  document.addEventListener('keydown', () => { countdown = RESET; });
}, { home: location.pathname });
