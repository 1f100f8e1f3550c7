// Package static holds the web pages, styles and scripts of rathaus, embedded
// into the binary so that nothing is fetched from elsewhere.
package static

import (
	"embed"
	"io/fs"
)

//go:embed files
var files embed.FS

// FS returns the embedded files rooted at static/files.
func FS() fs.FS {
	sub, err := fs.Sub(files, "files")
	if err != nil {
		panic("static: " + err.Error())
	}
	return sub
}
