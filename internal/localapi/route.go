package localapi

import (
	"strings"
)

// route is one parsed route key: a method (or ANY) and path segments,
// where "{name}" takes one segment and a last "{name+}" takes the rest.
type route struct {
	key      string
	method   string // "" for ANY and $default
	segments []string
	fallback bool // $default
}

func parseRoutes(keys []string) []route {
	routes := make([]route, 0, len(keys))
	for _, k := range keys {
		if k == "$default" {
			routes = append(routes, route{key: k, fallback: true})
			continue
		}
		method, path, ok := strings.Cut(k, " ")
		if !ok {
			continue
		}
		if method == "ANY" {
			method = ""
		}
		routes = append(routes, route{key: k, method: method, segments: strings.Split(strings.Trim(path, "/"), "/")})
	}
	return routes
}

// matchRoute picks the route the gateway would: the most specific match
// (more literal segments, no greedy variable, an exact method), else
// $default.
func matchRoute(routes []route, method, path string) (key string, params map[string]string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := -1, -1
	var bestParams map[string]string
	for i, r := range routes {
		if r.fallback || (r.method != "" && r.method != method && !(r.method == "GET" && method == "HEAD")) {
			continue
		}
		p, score, hit := r.match(parts)
		if !hit {
			continue
		}
		if r.method != "" {
			score++
		}
		if score > bestScore {
			best, bestScore, bestParams = i, score, p
		}
	}
	if best >= 0 {
		return routes[best].key, bestParams, true
	}
	for _, r := range routes {
		if r.fallback {
			return r.key, nil, true
		}
	}
	return "", nil, false
}

// match reports whether the path segments fit the route, with the path
// parameters and a specificity score.
func (r route) match(parts []string) (map[string]string, int, bool) {
	params := map[string]string{}
	score := 0
	for i, seg := range r.segments {
		if name, greedy := strings.CutSuffix(strings.Trim(seg, "{}"), "+"); greedy && strings.HasPrefix(seg, "{") {
			if i == len(r.segments)-1 && len(parts) > i {
				params[name] = strings.Join(parts[i:], "/")
				return params, score * 4, true
			}
			return nil, 0, false
		}
		if i >= len(parts) {
			return nil, 0, false
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if parts[i] == "" {
				return nil, 0, false
			}
			params[seg[1:len(seg)-1]] = parts[i]
			score += 2
			continue
		}
		if seg != parts[i] {
			return nil, 0, false
		}
		score += 4
	}
	if len(parts) != len(r.segments) {
		return nil, 0, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, score*4 + 2, true
}
