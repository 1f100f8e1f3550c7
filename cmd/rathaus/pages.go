package main

import (
	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/static"
)

// pageRoutes lists the web pages: path, embedded file, and whether the page
// is personal (tokens in the address or staff data: never cached).
var pageRoutes = []struct {
	path, file string
	personal   bool
}{
	{"/", "booking.html", false},
	{"/a/:token", "manage.html", true},
	{"/closures", "closures.html", false},
	{"/kiosk/:office", "kiosk.html", false},
	{"/t/:token", "ticket.html", true},
	{"/display/:office", "display.html", false},
	{"/staff", "staff.html", true},
	{"/staff/stats", "stats.html", true},
	{"/admin", "admin.html", true},
	{"/privacy", "privacy.html", false},
	{"/accessibility", "accessibility.html", false},
}

// registerPages adds the web pages and their assets (under /static/) to r.
func registerPages(r *gin.Engine) {
	for _, p := range pageRoutes {
		r.GET(p.path, gin.WrapH(static.Page(p.file, p.personal)))
	}
	r.GET("/static/*path", gin.WrapH(static.Assets()))
}
