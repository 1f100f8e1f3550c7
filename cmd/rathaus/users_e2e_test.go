package main

import (
	"testing"
)

// TestAdminManagesUsers: an admin lists, creates, changes and deletes staff
// accounts over the API; the new account logs in, works only in its office,
// and loses its session when it is deleted.
func TestAdminManagesUsers(t *testing.T) {
	s := startTestServer(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123")
	login := func(user, pw string) string {
		var out struct{ Token string }
		s.API.Post(t, "/api/v1/auth/login", map[string]any{"username": user, "password": pw}).Want(t, 200).Decode(t, &out)
		return out.Token
	}
	admin := s.API.WithBearer(login("admin", "admin-passwort-123"))
	admin.Post(t, "/api/v1/admin/users", map[string]any{"username": "Clerk", "role": "staff", "offices": []string{"geesthacht"},
		"password": "clerk-password-1"}).Want(t, 201)
	admin.Post(t, "/api/v1/admin/users", map[string]any{"username": "nowhere", "role": "staff", "offices": []string{"atlantis"},
		"password": "clerk-password-1"}).WantError(t, 422, "unknown_office")
	admin.Unchecked().Post(t, "/api/v1/admin/users", map[string]any{"username": "weak", "role": "staff", "offices": []string{"geesthacht"},
		"password": "short"}).WantError(t, 422, "weak_password")
	var list struct {
		Users []struct {
			Username, Role string
			Offices        []string
		}
	}
	admin.Get(t, "/api/v1/admin/users").Want(t, 200).Decode(t, &list)
	if len(list.Users) != 2 || list.Users[0].Username != "admin" || list.Users[1].Username != "clerk" || list.Users[1].Offices[0] != "geesthacht" {
		t.Fatalf("users = %+v", list.Users)
	}
	clerk := s.API.WithBearer(login("clerk", "clerk-password-1"))
	clerk.Get(t, "/api/v1/staff/offices/geesthacht/appointments").Want(t, 200)
	clerk.Get(t, "/api/v1/admin/users").WantError(t, 403, "forbidden")
	admin.Delete(t, "/api/v1/admin/users/admin").WantError(t, 409, "cannot_delete_self")
	admin.Delete(t, "/api/v1/admin/users/ghost").WantError(t, 404, "user_not_found")
	admin.Delete(t, "/api/v1/admin/users/clerk").Want(t, 200)
	clerk.Get(t, "/api/v1/staff/offices/geesthacht/appointments").WantError(t, 401, "unauthenticated")
}
