package store

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/credup/credup/internal/bulk"
)

// KeyPart checks one part of a storage key: present, and free of the '#'
// delimiter every key is built with.
func KeyPart(kind, v string) error {
	if v == "" {
		return bulk.Errorf(bulk.EInvalid, "%s is required", kind)
	}
	if strings.Contains(v, "#") {
		return bulk.Errorf(bulk.EInvalid, "%s may not contain #", kind)
	}
	return nil
}

// CheckOps checks a batch's operations before anything is read: its size,
// and one op per credential (a transaction may touch an item once).
func CheckOps(b Batch) error {
	if len(b.Ops) > MaxBatchOps {
		return bulk.Errorf(bulk.EInvalid, "batch %d has %d ops; at most %d fit one transaction", b.Number, len(b.Ops), MaxBatchOps)
	}
	seen := make(map[string]bool, len(b.Ops))
	for _, op := range b.Ops {
		if err := KeyPart("credential id", op.CredentialID); err != nil {
			return err
		}
		if op.After.ID != "" && op.After.ID != op.CredentialID {
			return bulk.Errorf(bulk.EInvalid, "op for credential %s carries credential %s", op.CredentialID, op.After.ID)
		}
		if err := KeyPart("group id", op.After.GroupID); err != nil {
			return err
		}
		if seen[op.CredentialID] {
			return bulk.Errorf(bulk.EInvalid, "batch %d updates credential %s twice", b.Number, op.CredentialID)
		}
		seen[op.CredentialID] = true
	}
	return nil
}

// Paging limits of ListReportRows and ListResults.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageLimit is the page size a caller's limit asks for.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Cursor is a position in a listing: the last item returned. It holds no
// partition, so a cursor handed to another tenant or upload reads only that
// one's items.
type Cursor struct {
	Kind       string `json:"k"`
	Row        int    `json:"r,omitempty"`
	Batch      int    `json:"b,omitempty"`
	Credential string `json:"c,omitempty"`
}

// Cursor kinds.
const (
	CursorRows    = "rows"
	CursorResults = "results"
)

// EncodeCursor makes the opaque form of a cursor.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads an opaque cursor of the given kind; "" is the start.
func DecodeCursor(s, kind string) (Cursor, error) {
	if s == "" {
		return Cursor{Kind: kind}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Kind != kind || c.Row < 0 || c.Batch < 0 {
		return Cursor{}, bulk.Errorf(bulk.EInvalid, "invalid cursor")
	}
	return c, nil
}
