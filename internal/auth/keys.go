package auth

// All account keys share the hash tag {auth}: a login touches the user, its
// failure window and a new session in one slot. Staff are few, so one slot is
// plenty.
const prefix = "rathaus:{auth}:"

func userKey(username string) string         { return prefix + "user:" + username }
func usersKey() string                       { return prefix + "users" }
func sessionKey(tokenHash string) string     { return prefix + "session:" + tokenHash }
func userSessionsKey(username string) string { return prefix + "user-sessions:" + username }
func loginFailKey(username string) string    { return prefix + "login-fail:" + username }
