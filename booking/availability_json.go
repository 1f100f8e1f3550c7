package booking

import (
	"encoding/json"
	"strconv"
)

// appendAvailabilityJSON appends the answer of GET …/availability: the bytes
// encoding/json writes for
//
//	gin.H{"office": office, "service": service, "from": …, "to": …, "days": []dayJSON{…}}
//
// (keys of the map sorted, no trailing newline), without a map, reflection
// or a string per date: the answer has a day object for each of up to 92
// days, and availability is the most frequent request. The test compares
// the bytes with encoding/json's, closureSummary included.
func appendAvailabilityJSON(b []byte, office, service string, from, to Date, days []DayAvailability) []byte {
	b = append(b, `{"days":[`...)
	for i := range days {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDayJSON(b, &days[i])
	}
	b = append(b, `],"from":"`...)
	b = from.appendString(b)
	b = append(b, `","office":`...)
	b = appendJSONString(b, office)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, service)
	b = append(b, `,"to":"`...)
	b = to.appendString(b)
	return append(b, `"}`...)
}

// appendDayJSON appends one day as encoding/json writes dayJSON.
func appendDayJSON(b []byte, d *DayAvailability) []byte {
	b = append(b, `{"date":"`...)
	b = d.Date.appendString(b)
	b = append(b, `","status":`...)
	b = appendJSONString(b, d.Status)
	b = append(b, `,"free_slots":`...)
	b = strconv.AppendInt(b, int64(d.FreeSlots), 10)
	if d.Closure != nil {
		b = append(b, `,"closure":`...)
		b = appendClosureJSON(b, d.Closure)
	}
	return append(b, '}')
}

// appendClosureJSON appends closureSummary(c) as encoding/json writes the
// map: keys sorted, the optional ones only when set.
func appendClosureJSON(b []byte, c *Closure) []byte {
	b = append(b, '{')
	if c.ComeBy != "" {
		b = append(b, `"come_by":`...)
		b = append(appendJSONString(b, c.ComeBy), ',')
	}
	if c.Email != "" {
		b = append(b, `"email":`...)
		b = append(appendJSONString(b, c.Email), ',')
	}
	b = append(b, `"from":"`...)
	b = append(c.From.appendString(b), `",`...)
	if c.Partial() {
		b = append(b, `"from_time":`...)
		b = append(appendJSONString(b, clockText(c.StartMin)), ',')
	}
	b = append(b, `"holiday":`...)
	b = append(strconv.AppendBool(b, c.Holiday), ',')
	if c.ID != "" {
		b = append(b, `"id":`...)
		b = append(appendJSONString(b, c.ID), ',')
	}
	b = append(b, `"message":`...)
	b = append(appendTextJSON(b, c.Message), ',')
	if c.Phone != "" {
		b = append(b, `"phone":`...)
		b = append(appendJSONString(b, c.Phone), ',')
	}
	b = append(b, `"title":`...)
	b = append(appendTextJSON(b, c.Title), ',')
	b = append(b, `"until":"`...)
	b = append(c.Until.appendString(b), '"')
	if c.Partial() {
		b = append(b, `,"until_time":`...)
		b = appendJSONString(b, clockText(c.EndMin))
	}
	return append(b, '}')
}

// appendTextJSON appends a Text as encoding/json writes it.
func appendTextJSON(b []byte, t Text) []byte {
	b = append(b, `{"de":`...)
	b = appendJSONString(b, t.De)
	b = append(b, `,"en":`...)
	b = appendJSONString(b, t.En)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: plain ASCII as it is, anything else (quotes, control characters, HTML
// characters, non-ASCII) through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
