// Package static holds the web pages, styles and scripts of rathaus, embedded
// into the binary so that nothing is fetched from elsewhere.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
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

// file is one embedded file with its strong ETag (a hash of its content).
type file struct {
	body []byte
	etag string
}

var (
	indexOnce sync.Once
	index     map[string]file
)

// load hashes every embedded file once.
func load() map[string]file {
	indexOnce.Do(func() {
		index = map[string]file{}
		root := FS()
		_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(root, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			index[p] = file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
			return nil
		})
	})
	return index
}

// serve writes f with its ETag; http.ServeContent answers If-None-Match with 304.
func serve(w http.ResponseWriter, r *http.Request, name string, f file) {
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// Assets serves the files below /static/ (the request path must start with
// it). Browsers keep them and revalidate with the content-hash ETag, so a new
// release is picked up at once and an unchanged file costs a 304.
func Assets() http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
		f, ok := files[name]
		if !ok || strings.HasSuffix(name, ".html") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
		serve(w, r, name, f)
	})
}

// Page serves the HTML page name (e.g. "booking.html"). Personal pages (an
// appointment, a ticket, the staff console) carry tokens in their address and
// are never stored; the others are revalidated by ETag. Page panics when the
// page is not embedded, so a missing page stops the server at start.
func Page(name string, personal bool) http.Handler {
	f, ok := load()[name]
	if !ok {
		panic("static: page " + name + " is not embedded")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if personal {
			w.Header().Set("Cache-Control", "no-store")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		serve(w, r, name, f)
	})
}
