package static

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestAssets(t *testing.T) {
	h := Assets()
	t.Run("OK", func(t *testing.T) {
		w := get(t, h, "/static/css/app.css")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
			t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
		}
		etag := w.Header().Get("ETag")
		if len(etag) < 10 || w.Header().Get("Cache-Control") == "" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, w.Header().Get("Cache-Control"))
		}
		if w := get(t, h, "/static/css/app.css", "If-None-Match", etag); w.Code != http.StatusNotModified {
			t.Errorf("revalidation: status %d, want 304", w.Code)
		}
	})
	t.Run("JavaScriptType", func(t *testing.T) {
		w := get(t, h, "/static/js/app.js")
		if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("Content-Type %q: browsers refuse modules without a JavaScript type", ct)
		}
	})
	for _, p := range []string{"/static/nope.js", "/static/booking.html", "/static/../static.go", "/static/"} {
		t.Run("NotFound"+p, func(t *testing.T) {
			if w := get(t, h, p); w.Code != 404 {
				t.Errorf("%s: status %d, want 404", p, w.Code)
			}
		})
	}
}

func TestPage(t *testing.T) {
	for _, tc := range []struct {
		personal bool
		want     string
	}{{false, "no-cache"}, {true, "no-store"}} {
		w := get(t, Page("manage.html", tc.personal), "/a/x")
		if w.Code != 200 || w.Header().Get("Cache-Control") != tc.want || !strings.Contains(w.Body.String(), "<main") {
			t.Errorf("personal=%v: status %d, Cache-Control %q", tc.personal, w.Code, w.Header().Get("Cache-Control"))
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a missing page did not stop the start")
		}
	}()
	Page("missing.html", false)
}

// TestNoInlineCode keeps every page within the Content-Security-Policy:
// no inline scripts, styles or event handlers, nothing from other hosts.
func TestNoInlineCode(t *testing.T) {
	bad := regexp.MustCompile(`(?i)<script>|<script(?:\s+type="module")?\s*>|<style|\sstyle=|\son[a-z]+=|(?:src|href)="(?:https?:)?//`)
	pages, _ := fs.Glob(FS(), "*.html")
	if len(pages) < 11 {
		t.Fatalf("only %d pages", len(pages))
	}
	for _, p := range pages {
		b, _ := fs.ReadFile(FS(), p)
		if m := bad.FindString(string(b)); m != "" {
			t.Errorf("%s: %q breaks the CSP", p, m)
		}
	}
}

func messageKeys(t *testing.T, lang string) map[string]bool {
	t.Helper()
	b, err := fs.ReadFile(FS(), "i18n/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	keys := map[string]bool{}
	for group, msgs := range m {
		for k, v := range msgs {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s.json: %s.%s is empty", lang, group, k)
			}
			keys[group+"."+k] = true
		}
	}
	return keys
}

// TestMessages checks that German and English have the same messages and
// that every key the pages use exists.
func TestMessages(t *testing.T) {
	de, en := messageKeys(t, "de"), messageKeys(t, "en")
	for k := range de {
		if !en[k] {
			t.Errorf("%s is German only", k)
		}
	}
	for k := range en {
		if !de[k] {
			t.Errorf("%s is English only", k)
		}
	}
	groups := map[string]bool{}
	for k := range de {
		groups[strings.SplitN(k, ".", 2)[0]] = true
	}
	// Keys are written as 'group.key' (in t() and data-i18n) or built from a
	// family prefix and a value the API gives; both kinds are checked.
	quoted := regexp.MustCompile(`['"]([a-z_0-9]+)\.([a-z_0-9]+)['"]`)
	var missing []string
	_ = fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasPrefix(p, "js/")) {
			return err
		}
		b, _ := fs.ReadFile(FS(), p)
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			if k := m[1] + "." + m[2]; groups[m[1]] && !de[k] && !strings.HasSuffix(k, "_") {
				missing = append(missing, p+": "+k)
			}
		}
		return nil
	})
	families := map[string][]string{
		"status.":        {"confirmed", "unverified", "cancelled", "expired"},
		"ticket_status.": {"waiting", "called", "parked", "finished", "no_show"},
		"ticket.status_": {"waiting", "called", "parked", "finished", "no_show"},
		"staff.done_":    {"recall", "finish", "no_show", "park", "unpark", "transfer"},
		"weekday.":       {"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		"weekday_long.":  {"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		"admin.n_appts":  {"", "_one"},
		"admin.n_days":   {"", "_one"},
	}
	for prefix, values := range families {
		for _, v := range values {
			if !de[prefix+v] {
				missing = append(missing, "family: "+prefix+v)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("message missing: %s", m)
	}
}
