package handlers

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 description of the JSON API that scripts
// use with API tokens, served at GET /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI)
}
