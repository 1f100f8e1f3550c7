package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/apidoc"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/httpx"
	"github.com/rathaus/rathaus/queue"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// router builds the HTTP routes; the route list reads like the API's table of contents.
func (a *app) router() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	proxies := make([]string, 0, len(a.cfg.TrustedProxies))
	for _, p := range a.cfg.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	if err := r.SetTrustedProxies(proxies); err != nil {
		panic("router: trusted proxies were validated at start: " + err.Error())
	}
	secure := strings.HasPrefix(a.cfg.BaseURL, "https://")
	global, apiChain := a.middleware(httpx.NewMetrics(a.reg))
	r.Use(global...)
	r.NoRoute(func(c *gin.Context) { httpx.Error(c, httpx.ErrNotFoundRoute) })
	r.NoMethod(func(c *gin.Context) { httpx.Error(c, httpx.ErrMethod) })

	r.GET("/healthz", a.handleHealthz)
	r.GET("/readyz", a.handleReadyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})))
	if a.cfg.Role == config.RoleWorker {
		return r // mail and jobs only: probes and metrics, nothing for citizens or staff
	}

	api := r.Group("/api/v1", apiChain...)
	api.GET("/openapi.json", handleOpenAPI)
	api.GET("/pow/challenge", a.pow.HandleChallenge(a.clientHash))
	authHTTP := auth.NewHTTP(a.auth, secure)
	authHTTP.Audit = a.audit.Auth(a.log)
	authHTTP.KnownOffice = func(id string) bool { _, ok := a.offices.Office(id); return ok }
	authHTTP.Register(api)
	api.GET("/admin/audit", authHTTP.Require(), auth.RequireAdmin(), a.audit.HandleIndex)
	booking.NewHTTP(a.bookings).Register(api, booking.Guards{
		Staff: []gin.HandlerFunc{authHTTP.Require(), auth.RequireOffice()},
		Admin: []gin.HandlerFunc{authHTTP.Require(), auth.RequireAdmin()},
	})
	queue.NewHTTP(a.queue).Register(api, authHTTP)

	registerPages(r)
	return r
}

// middleware returns the chains every request passes (global) and every
// request under /api/v1 passes after it (api).
func (a *app) middleware(metrics *httpx.Metrics) (global, api []gin.HandlerFunc) {
	secure := strings.HasPrefix(a.cfg.BaseURL, "https://")
	global = []gin.HandlerFunc{a.meter.Middleware(), httpx.RequestIDs(), httpx.Recover(a.log), httpx.AccessLog(a.log), metrics.Middleware(),
		httpx.SecurityHeaders(secure)}
	api = []gin.HandlerFunc{httpx.LimitBody(), noStorePersonal(), a.limiter.Middleware(rateRoutes(a.cfg.Limits)),
		a.pow.Require(powRoutes, a.powEnabled), a.audit.Middleware(a.log, "/api/v1/staff/", "/api/v1/admin/")}
	return global, api
}

// handleHealthz handles GET /healthz: the process runs.
func (a *app) handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReadyz handles GET /readyz: 200 while the store answers, else 503;
// also 503 while a Redis checked after the start must not be trusted.
func (a *app) handleReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	if err := a.store.Ping(ctx, time.Second); err != nil {
		c.Header("Retry-After", "5")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "store": "unreachable"})
		return
	}
	if why, _ := a.storeRefused.Load().(string); why != "" {
		c.Header("Retry-After", "60")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "store": why})
		return
	}
	body := gin.H{"status": "ready", "store": string(a.store.Mode), "embedded": a.store.Embedded}
	outbox, ok := a.outboxHealth()
	if outbox != "" {
		body["outbox"] = outbox
	}
	// A worker whose mail sending is stuck is not ready; a process that also
	// serves citizens stays ready for them (its metrics and log tell).
	if !ok && a.cfg.Role == config.RoleWorker {
		body["status"] = "unavailable"
		c.Header("Retry-After", "60")
		c.JSON(http.StatusServiceUnavailable, body)
		return
	}
	c.JSON(http.StatusOK, body)
}

// handleOpenAPI handles GET /api/v1/openapi.json.
func handleOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", apidoc.JSON)
}
