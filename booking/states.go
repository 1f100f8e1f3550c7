package booking

// states are the codes of the German Länder (ISO 3166-2:DE without "DE-").
var states = map[string]string{
	"BW": "Baden-Württemberg", "BY": "Bayern", "BE": "Berlin", "BB": "Brandenburg", "HB": "Bremen",
	"HH": "Hamburg", "HE": "Hessen", "MV": "Mecklenburg-Vorpommern", "NI": "Niedersachsen",
	"NW": "Nordrhein-Westfalen", "RP": "Rheinland-Pfalz", "SL": "Saarland", "SN": "Sachsen",
	"ST": "Sachsen-Anhalt", "SH": "Schleswig-Holstein", "TH": "Thüringen",
}

// KnownState reports whether code is a Bundesland code such as "SH".
func KnownState(code string) bool {
	_, ok := states[code]
	return ok
}
