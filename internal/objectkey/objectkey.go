// Package objectkey is credup's S3 key layout. Every key starts with the
// tenant: tenants/<tenant>/uploads/<upload>/<file> for files uploaded
// through the API, tenants/<tenant>/dropbox/<group>/<file> for files a
// partner drops, tenants/<tenant>/manifests/<upload>/<batch>.json for the
// batches of a commit.
package objectkey

import (
	"fmt"
	"path"
	"strings"
	"unicode"
)

// Prefix is where every object of every tenant lives.
const Prefix = "tenants/"

// Kinds of object key.
const (
	Upload   = "uploads"
	Dropbox  = "dropbox"
	Manifest = "manifests"
)

// Key is a parsed object key.
type Key struct {
	Tenant string
	Kind   string // Upload, Dropbox or Manifest
	ID     string // the upload (Upload, Manifest) or the group (Dropbox)
	File   string
}

// ValidID reports whether s can be part of a key: non-empty, no slash, no
// '#' (the storage key delimiter), no control characters, at most 128 bytes.
func ValidID(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r == '/' || r == '#' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Parse reads a (URL-decoded) object key. ok is false for a key outside the
// layout.
func Parse(key string) (k Key, ok bool) {
	rest, found := strings.CutPrefix(key, Prefix)
	if !found {
		return k, false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) != 4 || !ValidID(parts[0]) || !ValidID(parts[2]) || parts[3] == "" || strings.HasSuffix(parts[3], "/") {
		return k, false
	}
	switch parts[1] {
	case Upload, Dropbox, Manifest:
	default:
		return k, false
	}
	return Key{Tenant: parts[0], Kind: parts[1], ID: parts[2], File: parts[3]}, true
}

// ForUpload is the key a file uploaded through the API is put at.
func ForUpload(tenant, upload, fileName string) string {
	return Prefix + tenant + "/" + Upload + "/" + upload + "/" + SafeFileName(fileName)
}

// DropboxPrefix is where a partner drops files for a group.
func DropboxPrefix(tenant, group string) string {
	return Prefix + tenant + "/" + Dropbox + "/" + group + "/"
}

// ForManifest is the key of one batch manifest of a commit.
func ForManifest(tenant, upload string, batch int) string {
	return fmt.Sprintf("%s%s/%s/%s/%05d.json", Prefix, tenant, Manifest, upload, batch)
}

// SafeFileName keeps a file name's base, without path separators or
// control characters, so a name a user supplies cannot reach another prefix.
func SafeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '#' {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == "/" || name == ".." || name == "" {
		return "upload"
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return name
}
