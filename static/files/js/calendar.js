// The day-and-time picker used by booking and by moving an appointment:
// four weeks of days (closed days carry their reason), then the free times.
import { api, t, el, local, fmtDate, fmtTime, addDays, announce, showError } from './app.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * Picker draws into box the availability of service at office and calls
 * onPick({start, end}) when a time is chosen.
 */
export class Picker {
  constructor(box, office, service, onPick) {
    Object.assign(this, { box, office, service, onPick, from: null, first: null, date: null });
  }

  /** show loads the four weeks starting at from (default: the office's today). */
  async show(from) {
    const q = new URLSearchParams({ service: this.service });
    if (from) { q.set('from', from); q.set('to', addDays(from, 27)); }
    try {
      const av = await api('GET', `/api/v1/offices/${this.office}/availability?${q}`);
      if (!this.first) this.first = av.from;
      this.from = av.from;
      this.render(av.days);
    } catch (e) { showError(e); }
  }

  render(days) {
    const head = el('div', { class: 'cal-nav' },
      el('button', { type: 'button', class: 'secondary', disabled: this.from <= this.first, onclick: () => this.show(addDays(this.from, -28)), text: t('calendar.earlier') }),
      el('h3', { id: 'cal-title', text: t('calendar.range', { from: fmtDate(days[0].date, { day: 'numeric', month: 'long' }), until: fmtDate(days[days.length - 1].date, { day: 'numeric', month: 'long', year: 'numeric' }) }) }),
      el('button', { type: 'button', class: 'secondary', onclick: () => this.show(addDays(this.from, 28)), text: t('calendar.later') }),
    );
    const table = el('table', { class: 'calendar', 'aria-labelledby': 'cal-title' },
      el('thead', {}, el('tr', {}, WEEKDAYS.map((d) => el('th', { scope: 'col' }, el('abbr', { title: t('weekday_long.' + d), text: t('weekday.' + d) }))))));
    const body = el('tbody');
    let row = el('tr');
    const lead = (new Date(days[0].date + 'T12:00:00Z').getUTCDay() + 6) % 7;
    for (let i = 0; i < lead; i++) row.append(el('td'));
    for (const d of days) {
      if (row.children.length === 7) { body.append(row); row = el('tr'); }
      row.append(el('td', {}, this.dayCell(d)));
    }
    while (row.children.length < 7) row.append(el('td'));
    body.append(row);
    table.append(body);
    this.slotBox = el('div', { id: 'slot-box' });
    this.box.replaceChildren(head, el('p', { class: 'legend', text: t('calendar.legend') }), el('div', { class: 'table-wrap' }, table), this.slotBox);
  }

  dayCell(d) {
    const num = new Date(d.date + 'T12:00:00Z').getUTCDate();
    const long = fmtDate(d.date);
    if (d.status === 'open') {
      // The name is the long date and the visible "n free" (label in name).
      return el('button', {
        type: 'button', 'data-date': d.date, 'aria-pressed': String(d.date === this.date),
        onclick: (ev) => this.pickDay(d.date, ev.currentTarget),
      }, el('span', { class: 'num', 'aria-hidden': 'true', text: String(num) }), el('span', { class: 'visually-hidden', text: long + ': ' }),
      el('span', { class: 'why', text: t('calendar.free', { n: d.free_slots }) }));
    }
    const why = d.closure ? local(d.closure.title) : t(d.status === 'full' ? 'calendar.full' : 'calendar.closed');
    return el('span', { class: 'day' + (d.closure ? ' closed' : ''), 'data-date': d.date, 'data-status': d.status },
      el('span', { class: 'num', 'aria-hidden': 'true', text: String(num) }),
      el('span', { class: 'visually-hidden', text: long + ': ' }),
      el('span', { class: 'why', text: why }));
  }

  async pickDay(date, btn) {
    this.date = date;
    this.box.querySelectorAll('.calendar button').forEach((b) => b.setAttribute('aria-pressed', String(b === btn)));
    try {
      const day = await api('GET', `/api/v1/offices/${this.office}/slots?${new URLSearchParams({ service: this.service, date })}`);
      const heading = el('h3', { id: 'slots-title', tabindex: '-1', text: t('calendar.times_on', { date: fmtDate(date) }) });
      const list = el('ul', { class: 'slots', 'aria-labelledby': 'slots-title' });
      for (const s of day.slots) {
        list.append(el('li', {}, el('button', {
          type: 'button', 'data-start': s.start, 'aria-pressed': 'false',
          onclick: (ev) => {
            list.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b === ev.currentTarget)));
            this.onPick(s);
          },
          text: fmtTime(s.start),
        })));
      }
      this.slotBox.replaceChildren(heading, day.slots.length ? list : el('p', { text: t('calendar.no_times') }));
      heading.focus();
      announce(t('calendar.times_count', { n: day.slots.length }));
    } catch (e) { showError(e); }
  }
}
