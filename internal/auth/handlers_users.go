package auth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/httpx"
)

// registerUsers adds the admin routes of account management.
func (h *HTTP) registerUsers(api *gin.RouterGroup) {
	g := api.Group("/admin/users", h.Require(), RequireAdmin())
	g.GET("", h.handleUserIndex)
	g.POST("", h.handleUserSave)
	g.DELETE("/:username", h.handleUserDelete)
}

// handleUserIndex handles GET /api/v1/admin/users.
func (h *HTTP) handleUserIndex(c *gin.Context) {
	users, err := h.svc.ListUsers(c.Request.Context())
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": users})
}

type userRequest struct {
	Username string   `json:"username"`
	Role     Role     `json:"role"`
	Offices  []string `json:"offices"`
	Password string   `json:"password"`
}

// handleUserSave handles POST /api/v1/admin/users: creates an account, or
// replaces one (role, offices, password; its sessions end).
func (h *HTTP) handleUserSave(c *gin.Context) {
	var req userRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	name := strings.ToLower(strings.TrimSpace(req.Username))
	for _, o := range req.Offices {
		if h.KnownOffice != nil && !h.KnownOffice(o) {
			httpx.Error(c, apperr.Invalid("offices", "unknown_office", fmt.Sprintf("Das Amt %q gibt es nicht.", o),
				fmt.Sprintf("There is no office %q.", o)))
			return
		}
	}
	if err := h.svc.SetUser(c.Request.Context(), name, req.Role, req.Offices, req.Password); err != nil {
		httpx.Error(c, err)
		return
	}
	offices := req.Offices
	if offices == nil {
		offices = []string{}
	}
	c.JSON(http.StatusCreated, gin.H{"user": User{Username: name, Role: req.Role, Offices: offices}})
}

// handleUserDelete handles DELETE /api/v1/admin/users/:username.
func (h *HTTP) handleUserDelete(c *gin.Context) {
	if err := h.svc.DeleteUser(c.Request.Context(), MustPrincipal(c).User.Username, c.Param("username")); err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": true})
}
