// The privacy page: its text is in the message files; the office's contact is added.
import { api, t, el, put, setupPage, officeId, showBanner } from './app.js';

setupPage('privacy.title', async () => {
  const office = await api('GET', `/api/v1/offices/${await officeId()}`);
  showBanner(office);
  put(document.getElementById('office-contact'),
    el('strong', { text: office.name }), office.address ? ', ' + office.address : '',
    office.phone ? el('span', {}, ' · ' + t('contact.phone') + ' ', el('a', { href: 'tel:' + office.phone.replace(/\s/g, ''), text: office.phone })) : null,
    office.email ? el('span', {}, ' · ' + t('contact.email') + ' ', el('a', { href: 'mailto:' + office.email, text: office.email })) : null);
});
