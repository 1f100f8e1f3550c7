// Closures page (/closures): the office's current and future closures and feeds.
import { api, t, el, local, setupPage, officeId, setTimeZone, closureRange, closureDetails } from './app.js';

setupPage('closures.title', async () => {
  const id = await officeId();
  const office = await api('GET', `/api/v1/offices/${id}`);
  setTimeZone(office.timezone);
  document.getElementById('office-name').textContent = office.name;
  let list = office.closures || [];
  try { list = (await api('GET', `/api/v1/offices/${id}/closures`)).closures; } catch { /* the office's list will do */ }
  const box = document.getElementById('closures');
  box.replaceChildren(...list.map((c) => el('li', { 'data-closure': c.id || '' },
    el('h2', { text: local(c.title) || t('calendar.closed') }),
    el('p', { class: 'closure-dates', text: closureRange(c) }),
    ...closureDetails(c))));
  if (!list.length) box.replaceChildren(el('li', { text: t('closures.none') }));
  document.getElementById('ics-feed').href = `/api/v1/offices/${id}/closures.ics`;
  document.getElementById('atom-feed').href = `/api/v1/offices/${id}/closures.atom`;
  document.head.append(el('link', { rel: 'alternate', type: 'application/atom+xml', title: t('closures.atom'), href: `/api/v1/offices/${id}/closures.atom` }));
});
