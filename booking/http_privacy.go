package booking

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/httpx"
)

// registerPrivacy adds the citizen's data routes to the personal group
// (/appointments/:token, answers never cached).
func (h *HTTP) registerPrivacy(personal *gin.RouterGroup) {
	personal.GET("/data", h.handleDataExport)
	personal.DELETE("/data", h.handleDataErase)
}

// handleDataExport handles GET /api/v1/appointments/:token/data: a JSON
// download of everything stored about the appointment's holder.
func (h *HTTP) handleDataExport(c *gin.Context) {
	d, err := h.bookings.Export(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="termin-daten.json"`)
	c.JSON(http.StatusOK, d)
}

// handleDataErase handles DELETE /api/v1/appointments/:token/data: cancel
// (if active) and delete the personal data now.
func (h *HTTP) handleDataErase(c *gin.Context) {
	if err := h.bookings.Erase(c.Request.Context(), c.Param("token")); err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"erased": true})
}
