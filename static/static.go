// Package static holds the assets the pages load from /static/: the
// stylesheet, the script and the icon, and the versioned URLs pages load
// them by.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sync"
)

// FS holds app.css, app.js and icon.svg at its root, for serving under
// /static/ (e.g. http.StripPrefix("/static/", http.FileServerFS(static.FS))).
//
//go:embed app.css app.js icon.svg
var FS embed.FS

// versions are the assets' content hashes by name, computed once.
var versions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("static: unable to read the embedded assets: %v", err)) // only a broken build gets here
	}
	return out
})

// Version is a hash of the named asset's content, or empty when there is
// no such asset.
func Version(name string) string { return versions()[name] }

// URL is the one address pages load an asset from, /static/name?v=version.
// A change to the file changes its URL, so a browser may keep what it got
// for good. It panics on a name that is not an asset, as a template with a
// typo should fail its tests rather than ship a broken link.
func URL(name string) string {
	v := Version(name)
	if v == "" {
		panic(fmt.Sprintf("static: no asset %q", name))
	}
	return "/static/" + name + "?v=" + v
}
