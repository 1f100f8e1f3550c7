package pow

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/httpx"
)

// Header carries the solution (base64 JSON, as the ALTCHA widget produces it).
const Header = "X-Altcha"

// HandleChallenge handles GET /api/v1/pow/challenge; addr gives the client's
// keyed address hash (the difficulty follows its recent volume).
func (s *Service) HandleChallenge(addr func(c *gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ch, err := s.Issue(c.Request.Context(), addr(c))
		if err != nil {
			httpx.Error(c, err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, ch)
	}
}

// Require demands a fresh solution in the X-Altcha header (or the altcha
// query parameter, for forms) on the listed routes ("METHOD /full/path")
// when enabled says the route's :office asks for proof of work.
func (s *Service) Require(routes map[string]bool, enabled func(office string) bool) gin.HandlerFunc {
	set := httpx.RouteSet(routes)
	if len(set) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		if !set[httpx.MatchedRoute(c)] || !enabled(c.Param("office")) {
			c.Next()
			return
		}
		payload := c.GetHeader(Header)
		if payload == "" {
			payload = c.Query("altcha")
		}
		if err := s.Use(c.Request.Context(), payload, c.GetHeader("Idempotency-Key")); err != nil {
			httpx.Error(c, err)
			return
		}
		c.Next()
	}
}
