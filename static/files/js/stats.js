// Statistics (/staff/stats): tickets and waiting times per day as SVG bar
// charts made here, the numbers as a table, and a CSV download.
import { api, t, el, put, setupPage, fmtDate, addDays, showError } from './app.js';
import { session, staffNav, userOffices, userBar } from './staffauth.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** niceMax rounds v up to 4, 8, 20, 40, 80, 200 … so the four grid steps are whole numbers. */
function niceMax(v) {
  let m = 4;
  while (m < v) m = m / 10 ** Math.floor(Math.log10(m)) === 8 ? m * 2.5 : m * 2;
  return m;
}

/** barChart draws grouped bars: labels on x, one series per entry of series. */
function barChart(title, labels, series, unit) {
  const W = 760, H = 260, L = 44, B = 40, T = 12;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const step = (W - L - 10) / Math.max(1, labels.length);
  const bw = Math.min(40, Math.max(2, (step * 0.8) / series.length));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  root.append(svg('title', {}, title));
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    root.append(svg('line', { x1: L, x2: W - 5, y1: y, y2: y, class: 'axis', 'stroke-width': i ? 0.5 : 1 }));
    root.append(svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, String((max * i) / 4)));
  }
  labels.forEach((lab, i) => {
    const x0 = L + i * step + (step - bw * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[i] || 0;
      const h = ((H - T - B) * v) / max;
      const r = svg('rect', { x: x0 + k * bw, y: H - B - h, width: bw - 1, height: h, class: k ? 'bar2' : 'bar' });
      r.append(svg('title', {}, `${lab}: ${s.name} ${v}${unit || ''}`));
      root.append(r);
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      root.append(svg('text', { x: x0 + (bw * series.length) / 2, y: H - B + 16, 'text-anchor': 'middle' }, lab));
    }
  });
  const legend = el('ul', { class: 'chart-legend' }, series.map((s, k) => el('li', {}, el('span', { class: 'swatch ' + (k ? 's2' : 's1'), 'aria-hidden': 'true' }), s.name)));
  return [root, legend];
}

function perDay(rows) {
  const days = new Map();
  for (const r of rows) {
    const d = days.get(r.date) || { tickets: 0, appointments: 0, served: 0, w50: 0, s50: 0, n: 0 };
    d.tickets += r.tickets; d.appointments += r.appointments; d.served += r.served;
    d.w50 += r.wait_p50_minutes * r.tickets; d.s50 += r.service_time_p50_minutes * r.served; d.n += r.tickets;
    days.set(r.date, d);
  }
  return [...days.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

async function load(officeID) {
  const office = await api('GET', `/api/v1/offices/${officeID}`);
  const from = $('from').value, to = $('until').value;
  const q = new URLSearchParams({ from, to });
  const base = `/api/v1/staff/offices/${officeID}/stats`;
  $('csv').href = `${base}?${q}&format=csv`;
  $('csv').setAttribute('download', `statistik-${officeID}-${from}-${to}.csv`);
  const res = await api('GET', `${base}?${q}`);
  const rows = res.days || [];
  const days = perDay(rows);
  for (const id of ['chart-tickets', 'chart-waits', 'chart-hours']) $(id).parentElement.hidden = !rows.length;
  const labels = days.map(([d]) => fmtDate(d, { day: 'numeric', month: 'numeric' }));
  put($('chart-tickets'), barChart(t('stats.tickets_chart'), labels, [
    { name: t('stats.tickets'), values: days.map(([, d]) => d.tickets) },
    { name: t('stats.served'), values: days.map(([, d]) => d.served) }]));
  const avg = (x, n) => (n ? Math.round((x / n) * 10) / 10 : 0);
  put($('chart-waits'), barChart(t('stats.waits_chart'), labels, [
    { name: t('stats.wait_p50'), values: days.map(([, d]) => avg(d.w50, d.n)) },
    { name: t('stats.service_p50'), values: days.map(([, d]) => avg(d.s50, d.served)) }], ' min'));
  // The same measures by hour of the day, over the whole range: when to open more counters.
  const hours = res.hours || [];
  put($('chart-hours'), barChart(t('stats.hours_chart'), hours.map((h) => `${String(h.hour).padStart(2, '0')}:00`), [
    { name: t('stats.wait_p50'), values: hours.map((h) => h.wait_p50_minutes) },
    { name: t('stats.service_p50'), values: hours.map((h) => h.service_time_p50_minutes) }], ' min'));
  const names = Object.fromEntries((office.services || []).map((sv) => [sv.id, sv.name]));
  put($('stats-rows'), rows.map((r) => el('tr', {}, [fmtDate(r.date, { day: 'numeric', month: 'numeric', year: 'numeric' }), names[r.service] || r.service, r.tickets, r.appointments, r.served, r.no_shows, r.open,
    r.wait_p50_minutes, r.wait_p90_minutes, r.service_time_p50_minutes].map((v) => el('td', { text: String(v) })))));
  $('stats-empty').hidden = rows.length > 0;
}

setupPage('stats.title', async () => {
  const user = await session($('login-box'));
  userBar($('user-bar'), user);
  const offices = await userOffices(user);
  put($('office'), offices.map((o) => el('option', { value: o.id, text: o.name })));
  const q = new URLSearchParams(location.search);
  // The office's today (the server's clock), from the staff day list.
  let today = new Date().toISOString().slice(0, 10);
  try { today = (await api('GET', `/api/v1/staff/offices/${offices[0].id}/appointments`)).date || today; } catch { /* the browser's date will do */ }
  $('until').value = q.get('to') || today;
  $('from').value = q.get('from') || addDays($('until').value, -13);
  await load(offices[0].id);
  $('stats-form').addEventListener('submit', (ev) => { ev.preventDefault(); load($('office').value).catch(showError); });
  $('stats').hidden = false;
}, { nav: staffNav, home: '/staff' });
