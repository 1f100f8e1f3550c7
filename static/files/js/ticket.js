// Ticket status (/t/{token}): number, position and estimated wait, live
// through the ticket's event stream.
import { api, t, el, put, setupPage, pathPart, showBanner, setTimeZone } from './app.js';

const token = pathPart(1);
const base = `/api/v1/tickets/${encodeURIComponent(token)}`;

function render(tk) {
  const box = document.getElementById('ticket-status');
  box.dataset.status = tk.status;
  let line;
  if (tk.status === 'called') line = el('p', { class: 'ticket-now', id: 'ticket-called', text: t('ticket.called', { counter: tk.counter }) });
  else if (tk.status === 'waiting') line = el('p', { text: t('ticket.waiting', { n: tk.position, min: tk.estimated_wait_minutes }) });
  else line = el('p', { text: t('ticket.status_' + tk.status) });
  put(box,
    el('p', { class: 'ticket-label', text: t('kiosk.your_number') }),
    el('p', { class: 'ticket-number', id: 'ticket-number', text: tk.number }),
    line);
}

function follow() {
  const conn = document.getElementById('ticket-conn');
  const es = new EventSource(base + '/stream');
  es.addEventListener('status', (ev) => {
    conn.textContent = t('ticket.live');
    const tk = JSON.parse(ev.data).ticket;
    render(tk);
    if (tk.status === 'finished' || tk.status === 'no_show') es.close();
  });
  es.onerror = () => { conn.textContent = t('ticket.reconnecting'); };
}

/** banner shows the closure notice of the ticket's office (the token starts with it). */
async function banner() {
  const office = token.split('.')[0];
  if (!/^[a-z0-9_-]+$/.test(office)) return;
  try {
    const o = await api('GET', `/api/v1/offices/${office}`);
    setTimeZone(o.timezone);
    showBanner(o);
  } catch { /* no banner then */ }
}

setupPage('ticket.title', async () => {
  render((await api('GET', base)).ticket);
  follow();
  await banner();
});
