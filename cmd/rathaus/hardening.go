package main

import (
	"crypto/rand"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/httpx"
	"github.com/rathaus/rathaus/internal/ratelimit"
)

// serverSecret is the key of proof-of-work signatures and address hashes:
// RATHAUS_POW_SECRET, or a random key per start (with a warning, since
// replicas then reject each other's challenges and count addresses apart).
func serverSecret(cfg config.Config, log *slog.Logger) []byte {
	if cfg.PowSecret != "" {
		return []byte(cfg.PowSecret)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	log.Warn("RATHAUS_POW_SECRET is unset: using a random key; several replicas then reject each other's proof-of-work solutions and count rate limits apart")
	return b
}

// rateRoutes are the rate limits of the public routes, by scope:
// addresses (as gin's ClientIP sees them), e-mail addresses and offices.
func rateRoutes(l config.Limits) ratelimit.Routes {
	byAddr := func(scope string, r config.Rate) ratelimit.Rule {
		return ratelimit.Rule{Scope: scope, Rate: r, ID: ratelimit.Address}
	}
	return ratelimit.Routes{
		"GET /api/v1/offices/:office/availability": {byAddr("read", l.Read)},
		"GET /api/v1/offices/:office/slots":        {byAddr("read", l.Read)},
		"POST /api/v1/offices/:office/holds":       {byAddr("book", l.Book)},
		"POST /api/v1/offices/:office/appointments": {byAddr("book", l.Book),
			{Scope: "email", Rate: l.Email, ID: ratelimit.Email}, {Scope: "office", Rate: l.Office, ID: ratelimit.Office}},
		"POST /api/v1/appointments/:token/reschedule": {byAddr("book", l.Book)},
		"POST /api/v1/offices/:office/tickets":        {byAddr("ticket", l.Ticket)},
		"POST /api/v1/offices/:office/checkins":       {byAddr("ticket", l.Ticket)},
		"POST /api/v1/auth/login":                     {byAddr("login", l.Login)},
		"GET /api/v1/pow/challenge":                   {byAddr("challenge", l.Challenge)},
	}
}

// powRoutes need a solved challenge where the office switches it on.
var powRoutes = map[string]bool{
	"POST /api/v1/offices/:office/appointments": true,
	"POST /api/v1/offices/:office/tickets":      true,
}

// personalRoutes answer with a manage or ticket token: no cache may keep them.
var personalRoutes = map[string]bool{
	"POST /api/v1/offices/:office/appointments": true,
	"POST /api/v1/offices/:office/tickets":      true,
	"POST /api/v1/offices/:office/checkins":     true,
	"POST /api/v1/auth/login":                   true,
}

// noStorePersonal marks the answers of personalRoutes Cache-Control: no-store.
func noStorePersonal() gin.HandlerFunc {
	personal := httpx.RouteSet(personalRoutes)
	return func(c *gin.Context) {
		if personal[httpx.MatchedRoute(c)] {
			httpx.SetNoStore(c)
		}
		c.Next()
	}
}

// powEnabled reports whether office asks for proof of work.
func (a *app) powEnabled(office string) bool {
	o, ok := a.offices.Office(office)
	return ok && o.ProofOfWork
}

// clientHash is the keyed hash of the caller's address.
func (a *app) clientHash(c *gin.Context) string {
	addr, _ := ratelimit.Address(c)
	return a.limiter.Hash(addr)
}
