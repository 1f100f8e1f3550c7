package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rathaus/rathaus/internal/clock"
)

// The browser tests drive the pages in one headless Chromium shared by the
// test binary; every test works in tabs of its own against its own server.

var screenshotsFlag = flag.Bool("screenshots", false, "write screenshots of every page into screenshots/ (also RATHAUS_SCREENSHOTS=1)")

var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel []context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for i := len(chrome.cancel) - 1; i >= 0; i-- {
		chrome.cancel[i]()
	}
	os.Exit(code)
}

// chromiumPath finds Debian's chromium (or another Chrome on PATH).
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found: install it with `apt-get install -y chromium` (Debian) — the browser tests need it")
}

// startBrowser starts the one shared headless browser.
func startBrowser() {
	path, err := chromiumPath()
	if err != nil {
		chrome.err = err
		return
	}
	dir, err := os.MkdirTemp("", "rathaus-chromium-")
	if err != nil {
		chrome.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.Flag("mute-audio", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	chrome.cancel = append(chrome.cancel, acancel, bcancel, func() { _ = os.RemoveAll(dir) })
	if err := chromedp.Do(bctx); err != nil {
		chrome.err = fmt.Errorf("chromium did not start: %w", err)
		return
	}
	chrome.ctx = bctx
}

// tab is one browser tab of a test, with the page errors it has seen.
type btab struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	errs []string
}

// browserContexts maps a test server's base URL to its browser context.
var browserContexts sync.Map

// newTab opens a tab in the shared browser for a test against server base.
func newTab(t *testing.T, base string) *btab {
	t.Helper()
	chrome.once.Do(startBrowser)
	if chrome.err != nil {
		t.Fatal(chrome.err)
	}
	// Each test server gets its own browser context: cookies ignore the port,
	// so tests running side by side on 127.0.0.1 would otherwise overwrite
	// each other's session cookie. Tabs of one server share theirs.
	opt := chromedp.WithNewBrowserContext()
	existing, shared := browserContexts.Load(base)
	if shared {
		opt = chromedp.WithExistingBrowserContext(existing.(cdp.BrowserContextID))
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx, opt)
	ctx, cancelTime := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTime(); cancel() })
	tb := &btab{t: t, ctx: ctx, base: base}
	// The page is opened first so that the listener has a target to listen to.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser tab: %v", err)
	}
	if !shared {
		// The context goes when this tab does; a later server on the same
		// (reused) port must not find its id ("Failed to find browser
		// context", seen once in a full run).
		id := chromedp.FromContext(ctx).BrowserContextID
		browserContexts.Store(base, id)
		t.Cleanup(func() { browserContexts.CompareAndDelete(base, id) })
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.record(fmt.Sprintf("exception: %s (%s:%d)", msg, d.URL, d.LineNumber))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				tb.record("console.error: " + strings.Join(parts, " "))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && !strings.Contains(ev.Entry.Text, "status of 4") {
				tb.record("log: " + ev.Entry.Text + " " + ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("browser events: %v", err)
	}
	return tb
}

func (tb *btab) record(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = append(tb.errs, s)
}

// checkErrors fails the test for any script error, CSP violation or failed load seen so far.
func (tb *btab) checkErrors(where string) {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errs {
		tb.t.Errorf("%s: %s", where, e)
	}
	tb.errs = nil
}

func (tb *btab) run(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.checkErrors("before the failure")
		text, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.pathname + "\n" + document.body.innerText`))
		tb.t.Fatalf("browser: %v\npage: %s", err, text)
	}
}

// open loads path and waits until the page says it is ready (data-ready is
// "1", or "login" while a staff page waits for a sign-in).
func (tb *btab) open(path string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(tb.base+path), chromedp.WaitReady(chromedp.CSS(`html[data-ready]`)))
}

// setLang remembers lang (de or en) in the tab's origin; the next load uses it.
func (tb *btab) setLang(lang string) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem("rathaus.lang", %q)`, lang)))
}

// eval evaluates expr in the page, awaiting a promise, and decodes the result.
func evalJS[T any](tb *btab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
	return v
}

// text waits for sel and returns its text.
func (tb *btab) text(sel string) string {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
	return s
}

// click waits for sel to be visible and clicks it.
func (tb *btab) click(sel string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// waitFor waits until sel exists. It polls from inside the page on a timer:
// chromedp's node tracking can miss nodes that a page replaces while it
// re-renders, and requestAnimationFrame does not run in a background tab.
func (tb *btab) waitFor(sel string) {
	tb.t.Helper()
	tb.run(chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q) !== null`, sel),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
}

// login signs in as user in this tab (the session cookie is the tab's).
func (tb *btab) login(user, password string) {
	tb.t.Helper()
	status := evalJS[int](tb, fmt.Sprintf(`fetch("/api/v1/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({username: %q, password: %q})}).then(r => r.status)`, user, password))
	if status != 200 {
		tb.t.Fatalf("login as %s: status %d", user, status)
	}
}

var axeSource = sync.OnceValues(func() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "tools", "js", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return nil, fmt.Errorf("axe-core is missing: run `npm ci --prefix tools/js` (%w)", err)
	}
	return b, nil
})

// axeViolation is one rule broken on a page.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core on the loaded page and fails on serious or critical violations.
func (tb *btab) checkAxe(name string) {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatal(err)
	}
	if !evalJS[bool](tb, string(src)+"\n;typeof axe === 'object'") {
		tb.t.Fatal("axe-core did not load")
	}
	got := evalJS[[]axeViolation](tb, `axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
		.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`)
	for _, v := range got {
		tb.t.Errorf("%s: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

func screenshotsWanted() bool { return *screenshotsFlag || os.Getenv("RATHAUS_SCREENSHOTS") == "1" }

// screenshot writes the page at desktop (1280) and phone (360) width when asked to.
func (tb *btab) screenshot(name string) {
	tb.t.Helper()
	if !screenshotsWanted() {
		return
	}
	dir := filepath.Join("..", "..", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	for _, w := range []int64{1280, 360} {
		tb.run(chromedp.EmulateViewport(w, 800), chromedp.Sleep(150*time.Millisecond))
		buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), buf, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.run(chromedp.EmulateViewport(1280, 900))
}

// nodeCount returns how many nodes match sel.
func (tb *btab) nodeCount(sel string) int {
	tb.t.Helper()
	nodes, err := chromedp.Run(tb.ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
	return len(nodes)
}

// Wednesday 2 December 2026, 09:30 in Geesthacht: the office is open, so
// tickets can be drawn and slots from 10:30 on are bookable.
var browserNow = time.Date(2026, 12, 2, 9, 30, 0, 0, browserBerlin())

func browserBerlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}

const browserAdminPassword = "admin-passwort-123"

// startBrowserServer starts rathaus on a simulated clock with an admin user.
func startBrowserServer(t *testing.T) *testServer {
	t.Helper()
	cfg := testConfig(t, "RATHAUS_ADMIN_PASSWORD", browserAdminPassword)
	return startTestServerWith(t, cfg, Options{Clock: clockAt(browserNow)})
}

// clockAt is a simulated clock standing at t.
func clockAt(t time.Time) clock.Clock { return clock.NewSimulated(t) }

// postJSON posts body to the server and decodes the answer into out.
func browserPost(t *testing.T, url string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// getJSON gets url and decodes the answer into out.
// browserAppointment reads an appointment through the API, as its holder would.
func browserAppointment(t *testing.T, s *testServer, token string) (status, start string) {
	t.Helper()
	var got struct {
		Appointment struct{ Status, Start string }
	}
	browserGet(t, s.URL+"/api/v1/appointments/"+token, &got)
	return got.Appointment.Status, got.Appointment.Start
}

func browserGet(t *testing.T, url string, out any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// browserBooking books the first free slot of service through the API.
type browserBooking struct {
	Appointment struct {
		Code, Status, Start string
	}
	Token string
}

func browserBook(t *testing.T, s *testServer, service, name string) browserBooking {
	t.Helper()
	return browserBookOn(t, s, service, name, "")
}

// browserBookOn books the first free slot of service on date ("": the first open day).
func browserBookOn(t *testing.T, s *testServer, service, name, date string) browserBooking {
	t.Helper()
	var av struct {
		Days []struct {
			Date, Status string
		}
	}
	browserGet(t, s.URL+"/api/v1/offices/geesthacht/availability?service="+service, &av)
	for _, d := range av.Days {
		if d.Status != "open" || (date != "" && d.Date != date) {
			continue
		}
		var day struct{ Slots []struct{ Start string } }
		browserGet(t, s.URL+"/api/v1/offices/geesthacht/slots?service="+service+"&date="+d.Date, &day)
		var b browserBooking
		code := browserPost(t, s.URL+"/api/v1/offices/geesthacht/appointments",
			map[string]string{"service": service, "start": day.Slots[0].Start, "name": name, "email": "test@example.org"}, &b)
		if code != 201 {
			t.Fatalf("booking: status %d", code)
		}
		return b
	}
	t.Fatal("no open day")
	return browserBooking{}
}

// typeInto types text into the field sel.
func (tb *btab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// waitVisible waits until sel is visible.
func (tb *btab) waitVisible(sel string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(sel)))
}

// loginForm signs in through the page's own login form.
func (tb *btab) loginForm(user, password string) {
	tb.t.Helper()
	tb.typeInto("#username", user)
	tb.typeInto("#password", password)
	tb.click("#login-submit")
	tb.waitFor(`html[data-ready="1"]`)
}

// eval0 evaluates expr in the page and ignores its value.
func (tb *btab) eval0(expr string) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate[chromedp.Void](expr))
}

// waitJS waits up to 10 s until the expression cond is true in the page.
func (tb *btab) waitJS(cond, what string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !evalJS[bool](tb, "Boolean("+cond+")") {
		if time.Now().After(deadline) {
			tb.t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setField sets the value of the form field sel as a user would (with an input event).
func (tb *btab) setField(sel, value string) {
	tb.t.Helper()
	tb.waitVisible(sel)
	tb.eval0(fmt.Sprintf(`(() => { const f = document.querySelector(%q); f.value = %q; f.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
}

// checkNarrow fails when the page needs horizontal scrolling at 360 px width
// (a phone, or 720 px at 200 % zoom), naming the elements that stick out.
func (tb *btab) checkNarrow(name string) {
	tb.t.Helper()
	tb.run(chromedp.EmulateViewport(360, 800))
	defer tb.run(chromedp.EmulateViewport(1280, 900))
	wide := evalJS[[]string](tb, `(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return [];
		const clipped = (e) => { for (let p = e.parentElement; p; p = p.parentElement) { if (getComputedStyle(p).overflowX !== "visible") return true; } return false; };
		return [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > w + 1 && !clipped(e))
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : ""));
	})()`)
	if len(wide) > 0 {
		tb.t.Errorf("%s: wider than 360 px: %v", name, wide)
	}
}

// tabTo presses Tab until the focused element matches sel; it fails after
// 100 presses, so an element that the keyboard cannot reach fails the test.
func (tb *btab) tabTo(sel string) {
	tb.t.Helper()
	for range 100 {
		if evalJS[bool](tb, fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel)) {
			return
		}
		tb.run(chromedp.KeyEvent(kb.Tab))
	}
	tb.t.Fatalf("%s cannot be reached with the Tab key", sel)
}

// press sends keys to the focused element.
func (tb *btab) press(keys string) {
	tb.t.Helper()
	tb.run(chromedp.KeyEvent(keys))
}

// focusVisible reports whether the focused element shows a focus outline.
func (tb *btab) focusVisible() bool {
	tb.t.Helper()
	return evalJS[bool](tb, `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2; })()`)
}

// emulateMedia switches the page to the CSS media type m ("print"; "" resets).
func (tb *btab) emulateMedia(m string) {
	tb.t.Helper()
	tb.run(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	}))
}

// staffCallNext signs in as admin through the API, opens counter and calls
// the next ticket there.
func staffCallNext(t *testing.T, s *testServer, counter string) {
	t.Helper()
	var login struct{ Token string }
	if code := browserPost(t, s.URL+"/api/v1/auth/login", map[string]string{"username": "admin", "password": browserAdminPassword}, &login); code != 200 {
		t.Fatalf("login: status %d", code)
	}
	base := s.URL + "/api/v1/staff/offices/geesthacht/counters/" + counter
	for _, path := range []string{base + "/open", base + "/call-next"} {
		req, _ := http.NewRequest("POST", path, nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
	}
}

// forgetErrors drops the page errors seen so far (for expected ones).
func (tb *btab) forgetErrors() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = nil
}

// jsClick waits for sel and clicks it from inside the page, for lists that
// redraw themselves while the test works (a mouse click could land on the
// node being replaced).
func (tb *btab) jsClick(sel string) {
	tb.t.Helper()
	tb.waitVisible(sel)
	tb.eval0(fmt.Sprintf(`document.querySelector(%q).click()`, sel))
}
