package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminUsers creates a staff account in the admin page, finds it
// in the list with its office, and deletes it again.
func TestBrowserAdminUsers(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	admin := newTab(t, s.URL)
	admin.open("/admin")
	admin.loginForm("admin", browserAdminPassword)
	admin.waitVisible("#user-form")
	admin.click("#user-save")
	admin.waitVisible("#user-errors")
	if msg := admin.text("#new-username-error"); msg == "" {
		t.Error("an empty user name shows no error at its field")
	}
	admin.setField("#new-username", "Clerk")
	admin.setField("#new-password", "clerk-password-1")
	admin.click("#user-save")
	admin.waitFor(`#users button[data-user="clerk"]`)
	if row := admin.text("#users"); !strings.Contains(row, "clerk") || !strings.Contains(row, "geesthacht") {
		t.Errorf("users table = %q", row)
	}
	admin.open("/admin")
	admin.waitFor(`#users button[data-user="clerk"]`)
	if log := admin.text("#audit"); !strings.Contains(log, "admin") || !strings.Contains(log, "POST") {
		t.Errorf("audit log on the admin page = %q, want the admin's account creation", log)
	}
	admin.checkAxe("admin with the staff accounts")
	admin.screenshot("admin-users-de")
	admin.eval0(`window.confirm = () => true`)
	admin.jsClick(`#users button[data-user="clerk"]`)
	admin.run(chromedp.WaitNotPresent(chromedp.CSS(`#users button[data-user="clerk"]`)))
	admin.checkErrors("admin users")
}
