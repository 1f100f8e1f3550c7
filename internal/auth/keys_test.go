package auth

import "testing"

func TestKeys(t *testing.T) {
	tests := []struct{ got, want string }{
		{userKey("admin"), "rathaus:{auth}:user:admin"},
		{usersKey(), "rathaus:{auth}:users"},
		{sessionKey("ab12"), "rathaus:{auth}:session:ab12"},
		{userSessionsKey("anna"), "rathaus:{auth}:user-sessions:anna"},
		{loginFailKey("anna"), "rathaus:{auth}:login-fail:anna"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
