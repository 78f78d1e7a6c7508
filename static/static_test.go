package static

import (
	"io/fs"
	"regexp"
	"testing"
)

func TestFS(t *testing.T) {
	for _, name := range []string{"app.css", "app.js", "icon.svg"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

func TestURL(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"app.css", "app.js", "icon.svg"} {
		u := URL(name)
		m := regexp.MustCompile(`^/static/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]{12})$`).FindStringSubmatch(u)
		if m == nil {
			t.Errorf("URL(%q) = %q, want /static/%s?v=<12 hex digits>", name, u, name)
			continue
		}
		if other, ok := seen[m[1]]; ok {
			t.Errorf("%s and %s share version %s; versions must follow content", name, other, m[1])
		}
		seen[m[1]] = name
	}
	t.Run("UnknownAsset", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("URL of a missing asset did not panic")
			}
		}()
		URL("nope.js")
	})
}
