package localapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinKeyBytes is the shortest HS256 key accepted (RFC 7518: a key of the
// hash's size, 256 bits).
const MinKeyBytes = 32

// authorizer checks tokens as API Gateway's JWT authorizer does: a valid
// signature, exp present and in the future, nbf and iat not in the
// future, the configured issuer and audience.
type authorizer struct {
	key      []byte
	issuer   string
	audience string
}

// verify checks the Authorization header and returns the token's claims as
// the gateway passes them on: every value a string.
func (a authorizer) verify(header string) (map[string]string, error) {
	token := strings.TrimSpace(header)
	// The gateway takes the token with or without the Bearer scheme.
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	if token == "" {
		return nil, errors.New("no token")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		if len(a.key) < MinKeyBytes {
			return nil, errors.New("no usable verification key")
		}
		return a.key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(a.issuer),
		jwt.WithAudience(a.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
	)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		if v != nil {
			out[k] = claimString(v)
		}
	}
	return out, nil
}

// claimString renders a claim as the gateway does: strings as they are,
// numbers in decimal, lists as "[a b]", objects as JSON.
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// MintToken returns an HS256 token for tenant that a Server with the same
// key, issuer and audience accepts until ttl has passed.
func MintToken(key []byte, issuer, audience, tenant string, ttl time.Duration) (string, error) {
	switch {
	case len(key) < MinKeyBytes:
		return "", fmt.Errorf("mint token: the key has %d bytes, want at least %d", len(key), MinKeyBytes)
	case tenant == "":
		return "", errors.New("mint token: no tenant")
	case ttl <= 0:
		return "", fmt.Errorf("mint token: ttl %s is not positive", ttl)
	}
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":    issuer,
		"aud":    audience,
		"sub":    "credup-dev",
		"tenant": tenant,
		"iat":    now.Unix(),
		"exp":    now.Add(ttl).Unix(),
	})
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// DevKey returns this user's local signing key, kept in
// os.UserConfigDir()/credup/dev-signing-key and created (0600) on first
// use, so that `credup token` and a running `credup dev` agree.
func DevKey() ([]byte, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	return loadOrCreateKey(filepath.Join(dir, "credup", "dev-signing-key"))
}

func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	key = make([]byte, MinKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	// Written aside and linked into place, so a concurrent first use never
	// reads a half-written key, and only one key ever wins.
	tmp, err := os.CreateTemp(dir, ".dev-signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o600)
	}
	if werr != nil {
		return nil, fmt.Errorf("dev signing key: write %s: %w", tmp.Name(), werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	return readKey(path)
}

// readKey reads a hex key file, refusing one other users can read.
func readKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("dev signing key %s can be read by other users; chmod 600 it or delete it to make a new one", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < MinKeyBytes {
		return nil, fmt.Errorf("dev signing key %s is not %d hex-encoded bytes; delete it to make a new one", path, MinKeyBytes)
	}
	return key, nil
}
