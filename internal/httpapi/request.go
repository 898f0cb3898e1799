package httpapi

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/objectkey"
)

// maxBodyBytes bounds a JSON request body; the largest legitimate one is a
// mapping of a few hundred columns.
const maxBodyBytes = 1 << 20

// Page sizes of the paged routes.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// decodeJSON reads the request body into v, refusing unknown fields (a
// misspelt field silently ignored is a mapping silently not applied).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return bulk.Errorf(bulk.ETooLarge, "the request body is over %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return bulk.Errorf(bulk.EInvalid, "the request needs a JSON body")
	default:
		return bulk.Errorf(bulk.EInvalid, "the body is not the JSON this route takes: %s",
			strings.TrimPrefix(err.Error(), "json: "))
	}
}

// pathID returns a path parameter that must be an ID. A value that cannot
// be an ID names nothing, so it is not found rather than invalid.
func pathID(r *http.Request, name, what string) (string, error) {
	id := r.PathValue(name)
	if !objectkey.ValidID(id) {
		return "", bulk.Errorf(bulk.ENotFound, "no such %s", what)
	}
	return id, nil
}

// pageLimit reads the limit query parameter.
func pageLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageSize {
		var f fieldErrors
		f.add(pointer("limit"), "limit must be a whole number from 1 to %d", maxPageSize)
		return 0, f.err("bad query parameter")
	}
	return n, nil
}

// newUploadID returns a random upload ID: 128 bits as lower-case base32,
// safe in URLs, storage keys, S3 keys and execution names.
func newUploadID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make upload id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}
