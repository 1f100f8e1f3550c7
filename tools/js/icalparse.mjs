// icalparse reads an iCalendar object on stdin and prints what ical.js makes
// of it as JSON. The Go tests of notify/ use it to check that a second, real
// parser reads the invites the same way: times are resolved with the
// VTIMEZONE the file carries (ical.js has no zone database of its own).
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const text = readFileSync(0, "utf8");
const cal = new ICAL.Component(ICAL.parse(text));
for (const vtz of cal.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}
const prop = (c, name) => {
  const v = c.getFirstPropertyValue(name);
  return v === null || v === undefined ? null : String(v);
};
const events = cal.getAllSubcomponents("vevent").map((c) => {
  const ev = new ICAL.Event(c);
  const start = c.getFirstPropertyValue("dtstart");
  const end = c.getFirstPropertyValue("dtend");
  const org = c.getFirstProperty("organizer");
  return {
    uid: ev.uid,
    sequence: ev.sequence,
    summary: ev.summary,
    location: ev.location,
    description: ev.description,
    status: prop(c, "status"),
    startUTC: start.isDate ? null : start.toJSDate().toISOString(),
    endUTC: end.isDate ? null : end.toJSDate().toISOString(),
    startDate: start.isDate ? start.toString() : null,
    endDate: end.isDate ? end.toString() : null,
    tzid: start.zone ? start.zone.tzid : null,
    organizer: org ? String(org.getFirstValue()) : null,
    organizerCN: org ? org.getParameter("cn") || null : null,
    attendees: c.getAllProperties("attendee").map((p) => String(p.getFirstValue())),
    alarms: c.getAllSubcomponents("valarm").map((a) => String(a.getFirstPropertyValue("trigger"))),
  };
});
process.stdout.write(JSON.stringify({
  method: prop(cal, "method"),
  prodid: prop(cal, "prodid"),
  version: prop(cal, "version"),
  timezones: cal.getAllSubcomponents("vtimezone").map((c) => prop(c, "tzid")),
  events,
}));
