package localapi

import (
	"strings"
	"testing"
)

var fuzzRoutes = parseRoutes([]string{
	"GET /bulk-updates/{id}", "GET /bulk-updates/{id}/rows", "PUT /bulk-updates/{id}/mapping",
	"GET /bulk-updates/latest", "ANY /files/{proxy+}", "POST /groups/{groupId}/bulk-updates",
})

// FuzzMatchRoute checks that a matched route, with its parameters put
// back, spells the requested path.
func FuzzMatchRoute(f *testing.F) {
	for _, s := range []string{"/bulk-updates/u1", "/bulk-updates/latest", "/files/a/b/c", "/groups//bulk-updates", "/", ""} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		key, params, ok := matchRoute(fuzzRoutes, method, path)
		if !ok {
			return
		}
		_, pattern, _ := strings.Cut(key, " ")
		for name, v := range params {
			pattern = strings.Replace(pattern, "{"+name+"+}", v, 1)
			pattern = strings.Replace(pattern, "{"+name+"}", v, 1)
		}
		if strings.Trim(pattern, "/") != strings.Trim(path, "/") {
			t.Errorf("%s %q matched %q with %v, which spells %q", method, path, key, params, pattern)
		}
	})
}
