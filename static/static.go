// Package static holds the assets the pages load from /static/: the
// stylesheet, the script and the icon.
package static

import "embed"

// FS holds app.css, app.js and icon.svg at its root, for serving under
// /static/ (e.g. http.StripPrefix("/static/", http.FileServerFS(static.FS))).
//
//go:embed app.css app.js icon.svg
var FS embed.FS
