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
// days, and availability is the most frequent request.
func appendAvailabilityJSON(b []byte, office, service string, from, to Date, days []DayAvailability) ([]byte, error) {
	b = append(b, `{"days":[`...)
	for i := range days {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendDayJSON(b, &days[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"from":"`...)
	b = from.appendString(b)
	b = append(b, `","office":`...)
	b = appendJSONString(b, office)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, service)
	b = append(b, `,"to":"`...)
	b = to.appendString(b)
	return append(b, `"}`...), nil
}

// appendDayJSON appends one day as encoding/json writes dayJSON.
func appendDayJSON(b []byte, d *DayAvailability) ([]byte, error) {
	b = append(b, `{"date":"`...)
	b = d.Date.appendString(b)
	b = append(b, `","status":`...)
	b = appendJSONString(b, d.Status)
	b = append(b, `,"free_slots":`...)
	b = strconv.AppendInt(b, int64(d.FreeSlots), 10)
	if d.Closure != nil {
		// Holidays and closures only: a few days of a year.
		c, err := json.Marshal(closureSummary(d.Closure))
		if err != nil {
			return nil, err
		}
		b = append(b, `,"closure":`...)
		b = append(b, c...)
	}
	return append(b, '}'), nil
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
