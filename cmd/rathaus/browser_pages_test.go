package main

import (
	"testing"
)

// TestBrowserPagesAccessible loads every page in German and in English, fails
// on script errors, CSP violations and serious or critical axe-core findings,
// and writes screenshots when asked to.
func TestBrowserPagesAccessible(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBook(t, s, "ummeldung", "Erika Mustermann")
	var ticket struct{ Token string }
	if code := browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, &ticket); code != 201 {
		t.Fatalf("drawing a ticket: status %d", code)
	}
	public := []struct{ name, path string }{
		{"booking", "/"},
		{"manage", "/a/" + appt.Token},
		{"closures", "/closures"},
		{"kiosk", "/kiosk/geesthacht"},
		{"ticket", "/t/" + ticket.Token},
		{"display", "/display/geesthacht"},
		{"privacy", "/privacy"},
		{"accessibility", "/accessibility"},
		{"login", "/staff"},
	}
	staff := []struct{ name, path string }{
		{"staff", "/staff"},
		{"stats", "/staff/stats"},
		{"admin", "/admin"},
	}
	tb := newTab(t, s.URL)
	tb.open("/")
	check := func(name, path, lang string) {
		t.Helper()
		tb.open(path)
		tb.checkErrors(name + "/" + lang)
		tb.checkAxe(name + "/" + lang)
		tb.checkNarrow(name + "/" + lang)
		if got := evalJS[string](tb, `document.documentElement.lang`); got != lang {
			t.Errorf("%s: html lang = %q, want %q", name, got, lang)
		}
		tb.screenshot(name + "-" + lang)
	}
	for _, lang := range []string{"de", "en"} {
		tb.setLang(lang)
		for _, p := range public {
			check(p.name, p.path, lang)
		}
	}
	tb.login("admin", browserAdminPassword)
	for _, lang := range []string{"de", "en"} {
		tb.setLang(lang)
		for _, p := range staff {
			check(p.name, p.path, lang)
		}
	}
}
