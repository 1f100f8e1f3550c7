// Waiting-room display (/display/{office}): the last calls (number → counter,
// newest highlighted), a chime and an optional spoken announcement per call,
// waiting counts and the closure notice; it follows the office's event stream,
// reconnects by itself and says when it is offline. Numbers only, no names.
import { api, t, el, put, local, setupPage, pathPart, announce, lang, locale, closureRange, setTimeZone } from './app.js';

const officeID = pathPart(1);
const MAX_CALLS = 8;
const PREF = 'rathaus.display.';
let calls = [];
let lastID = '';
let refreshTimer = 0;
let audio = null;
let upcoming = null; // the next closure of the office, for the notice

function pref(name) { try { return localStorage.getItem(PREF + name) === '1'; } catch { return false; } }
function setPref(name, on) { try { localStorage.setItem(PREF + name, on ? '1' : '0'); } catch { /* private mode */ } }

function renderCalls() {
  const body = document.getElementById('calls');
  put(body, calls.map((c, i) => el('tr', { class: i === 0 ? 'newest' : '', 'data-number': c.number, 'data-counter': c.counter },
    el('td', { class: 'call-number', text: c.number }),
    el('td', { class: 'call-counter' }, el('span', { class: 'visually-hidden', text: t('display.counter') + ' ' }), c.counter))));
  document.getElementById('calls-empty').hidden = calls.length > 0;
}

function renderState(d) {
  calls = (d.called || []).slice(0, MAX_CALLS).map((c) => ({ number: c.number, counter: c.counter }));
  renderCalls();
  document.getElementById('waiting-total').textContent = t('display.waiting_total', { n: d.waiting, counters: d.open_counters });
  put(document.getElementById('waiting-services'), (d.services || []).map((s) => el('li', {},
    el('span', { class: 'ws-name', text: s.service_name }),
    el('span', { class: 'ws-count', text: t('display.service_waiting', { n: s.waiting, min: s.estimated_wait_minutes }) }))));
  const box = document.getElementById('display-closure');
  if (d.closure) {
    put(box, el('h2', { text: t('display.closed_now', { title: local(d.closure.title) }) }), local(d.closure.message) ? el('p', { text: local(d.closure.message) }) : null);
    box.hidden = false;
  } else if (upcoming) {
    put(box, el('h2', { text: t('display.closed_soon', { title: local(upcoming.title), dates: closureRange(upcoming) }) }),
      local(upcoming.message) ? el('p', { text: local(upcoming.message) }) : null);
    box.hidden = false;
  } else box.hidden = true;
  if (!lastID && d.last_event_id) lastID = d.last_event_id;
}

// The office (its closures, for the notice) is read again only when a
// closure event says it changed, after a reconnect, and every few minutes
// (a closure that ended makes room for the next); the waiting-room state
// after every event. With many displays per office that halves the reads.
const OFFICE_MAX_AGE_MS = 5 * 60 * 1000;
let officeLoadedAt = 0;
let officeStale = false;

async function loadUpcoming() {
  officeStale = false; // before the read: a closure event during it marks it stale again
  let office;
  try {
    office = await api('GET', `/api/v1/offices/${officeID}`);
  } catch (e) {
    officeStale = true;
    throw e;
  }
  setTimeZone(office.timezone);
  upcoming = (office.closures || []).slice().sort((a, b) => a.from.localeCompare(b.from))[0] || null;
  officeLoadedAt = Date.now();
  document.body.dataset.officeLoads = String(Number(document.body.dataset.officeLoads || 0) + 1);
  return office;
}

async function refresh() {
  try {
    if (officeStale || Date.now() - officeLoadedAt > OFFICE_MAX_AGE_MS) await loadUpcoming();
    renderState(await api('GET', `/api/v1/offices/${officeID}/display`));
    setOffline(false);
  } catch { setOffline(true); }
}

function refreshSoon(withOffice) {
  if (withOffice) officeStale = true;
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(refresh, 300);
}

function setOffline(off) {
  const n = document.getElementById('display-offline');
  if (off === !n.hidden) return;
  n.hidden = !off;
  n.textContent = off ? t('display.offline') : '';
  document.body.classList.toggle('offline', off);
}

function chime() {
  if (!pref('sound')) return;
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
    const now = audio.currentTime;
    [[784, 0], [523, 0.35]].forEach(([f, at]) => {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, now + at);
      g.gain.exponentialRampToValueAtTime(0.4, now + at + 0.03);
      g.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.6);
      o.connect(g).connect(audio.destination);
      o.start(now + at);
      o.stop(now + at + 0.65);
    });
  } catch { /* no audio here */ }
}

function speak(c) {
  if (!pref('speech') || !('speechSynthesis' in window)) return;
  // Spoken letter by letter so that "A12" is "A 1 2" and not a word.
  const number = c.number.split('').join(' ');
  const u = new SpeechSynthesisUtterance(t('display.speak', { number, counter: c.counter }));
  u.lang = lang === 'en' ? 'en-GB' : 'de-DE';
  window.speechSynthesis.speak(u);
}

function onCall(c) {
  calls = [c, ...calls.filter((x) => x.number !== c.number)].slice(0, MAX_CALLS);
  renderCalls();
  chime();
  speak(c);
  announce(t('display.speak', { number: c.number, counter: c.counter }));
  refreshSoon();
}

function connect() {
  const q = lastID ? '?last_event_id=' + encodeURIComponent(lastID) : '';
  const es = new EventSource(`/api/v1/offices/${officeID}/display/stream${q}`);
  es.onopen = () => { setOffline(false); refreshSoon(true); };
  es.addEventListener('called', (ev) => {
    if (ev.lastEventId) lastID = ev.lastEventId;
    onCall(JSON.parse(ev.data));
  });
  const other = (ev) => { if (ev.lastEventId) lastID = ev.lastEventId; refreshSoon(ev.type === 'closure'); };
  for (const name of ['issued', 'finished', 'no_show', 'parked', 'unparked', 'transferred', 'counter', 'closure', 'message']) es.addEventListener(name, other);
  // The stream was trimmed past our last event: start over from the snapshot.
  es.addEventListener('reset', () => { lastID = ''; refreshSoon(true); });
  es.onerror = () => {
    setOffline(true);
    // A refused reconnect closes the stream for good: start a new one.
    if (es.readyState === EventSource.CLOSED) window.setTimeout(connect, 3000);
  };
}

function toggle(btn, name, onEnable) {
  const update = () => btn.setAttribute('aria-pressed', String(pref(name)));
  update();
  btn.addEventListener('click', () => { setPref(name, !pref(name)); update(); if (pref(name) && onEnable) onEnable(); });
}

function clock() {
  document.getElementById('display-clock').textContent = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' }).format(new Date());
}

setupPage('display.title', async () => {
  const office = await loadUpcoming();
  document.getElementById('display-title').textContent = office.name;
  clock();
  window.setInterval(clock, 15000);
  // A quiet office sends no events: read everything again now and then (a
  // closure that began or ended, yesterday's calls after midnight).
  window.setInterval(() => refreshSoon(true), OFFICE_MAX_AGE_MS);
  toggle(document.getElementById('display-sound'), 'sound', chime);
  toggle(document.getElementById('display-speech'), 'speech');
  document.getElementById('display-full').addEventListener('click', () => document.documentElement.requestFullscreen().catch(() => {}));
  renderState(await api('GET', `/api/v1/offices/${officeID}/display`));
  connect();
  window.addEventListener('offline', () => setOffline(true));
});
