package localapi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credup/credup/internal/localapi"
)

// configHome points os.UserConfigDir at a fresh directory.
func configHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cfg, "credup", "dev-signing-key")
}

func TestDevKeyIsCreatedOnceAndKeptPrivate(t *testing.T) {
	path := configHome(t)
	first, err := localapi.DevKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < localapi.MinKeyBytes {
		t.Errorf("key of %d bytes, want at least %d", len(first), localapi.MinKeyBytes)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key not stored at %s: %v", path, err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	second, err := localapi.DevKey()
	if err != nil || !bytes.Equal(first, second) {
		t.Errorf("second DevKey = %x, %v; want the stored key %x", second, err, first)
	}
}

func TestDevKeyFirstUseRace(t *testing.T) {
	configHome(t)
	keys := make([][]byte, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = localapi.DevKey() })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || !bytes.Equal(keys[i], keys[0]) {
			t.Errorf("caller %d got %x, %v; every caller must get one key", i, keys[i], errs[i])
		}
	}
}

func TestDevKeyRefusesABadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
	}{
		{"readable by others", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0o644},
		{"not hex", "not a key\n", 0o600},
		{"too short", "0011\n", 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := configHome(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			if key, err := localapi.DevKey(); err == nil {
				t.Errorf("DevKey = %x, want an error", key)
			}
		})
	}
}

func TestMintToken(t *testing.T) {
	token, err := localapi.MintToken(testKey, issuer, audience, "t1", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return testKey, nil },
		jwt.WithIssuer(issuer), jwt.WithAudience(audience), jwt.WithExpirationRequired(),
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	exp, _ := claims.GetExpirationTime()
	if claims["tenant"] != "t1" || exp == nil || time.Until(exp.Time) > 10*time.Minute || time.Until(exp.Time) < 9*time.Minute {
		t.Errorf("claims = %v, want tenant t1 expiring in 10 minutes", claims)
	}

	bad := []struct {
		name   string
		key    []byte
		tenant string
		ttl    time.Duration
	}{
		{"short key", []byte("short"), "t1", time.Minute},
		{"no tenant", testKey, "", time.Minute},
		{"no lifetime", testKey, "t1", 0},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := localapi.MintToken(tt.key, issuer, audience, tt.tenant, tt.ttl); err == nil {
				t.Errorf("MintToken = %q, want an error", tok)
			}
		})
	}
}
