package trust

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilsec/vigil/pkg/pki"
)

// TokenPrefix starts every bearer token, so leaked ones are easy to find.
const TokenPrefix = "vgl_"

// TokenEntry is one line of the token file: only the SHA-256 of the token
// is kept, so the file reveals no usable credential.
type TokenEntry struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Tenants []string  `json:"tenants"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
}

// HashToken is the hex SHA-256 of a token as the file stores it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AddToken creates a bearer token for name with role over tenants, records
// its hash in the token file and returns the token; it is shown once and
// never stored.
func (t *Trust) AddToken(name, role string, tenants []string) (string, error) {
	if name == "" {
		return "", errors.New("token name is empty")
	}
	if role != pki.RoleAdmin && role != pki.RoleViewer {
		return "", fmt.Errorf("role %q: use admin or viewer", role)
	}
	if err := validTenants(tenants); err != nil {
		return "", err
	}
	path := t.Path(TokensFile)
	entries, err := readTokens(path)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(entries, func(e TokenEntry) bool { return e.Name == name }) {
		return "", fmt.Errorf("a token named %q exists; revoke it first", name)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	entries = append(entries, TokenEntry{Name: name, Role: role, Tenants: tenants, SHA256: HashToken(token), Created: time.Now().UTC()})
	return token, writeTokens(path, entries)
}

// RevokeToken removes the token named name from the token file.
func (t *Trust) RevokeToken(name string) error {
	path := t.Path(TokensFile)
	entries, err := readTokens(path)
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(entries, func(e TokenEntry) bool { return e.Name == name })
	if len(kept) == len(entries) {
		return fmt.Errorf("no token named %q", name)
	}
	return writeTokens(path, kept)
}

func readTokens(path string) ([]TokenEntry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var entries []TokenEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	for i, e := range entries {
		if len(e.SHA256) != 64 || e.Name == "" {
			return nil, fmt.Errorf("token file %s: entry %d: needs a name and a 64-digit sha256", path, i+1)
		}
	}
	return entries, nil
}

func writeTokens(path string, entries []TokenEntry) error {
	if entries == nil {
		entries = []TokenEntry{}
	}
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFile(path, append(data, '\n'), 0o600)
}

// Tokens answers token lookups from a token file, re-reading it when it
// changes so tokens are added and revoked without a restart. A file that
// fails to parse keeps the previous tokens in force and the error is
// reported by Err.
type Tokens struct {
	path string

	mu      sync.Mutex
	checked time.Time
	stamp   stamp
	byHash  map[string]TokenEntry
	err     error
}

type stamp struct {
	mod  time.Time
	size int64
}

// LoadTokens reads a token file; a missing file holds no tokens.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tokens) load() error {
	st := t.stat()
	entries, err := readTokens(t.path)
	if err != nil {
		return err
	}
	m := make(map[string]TokenEntry, len(entries))
	for _, e := range entries {
		m[e.SHA256] = e
	}
	t.byHash, t.stamp = m, st
	return nil
}

func (t *Tokens) stat() stamp {
	fi, err := os.Stat(t.path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

// Lookup returns the identity a bearer token names.
func (t *Tokens) Lookup(token string) (pki.Identity, bool) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return pki.Identity{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); now.Sub(t.checked) >= time.Second {
		t.checked = now
		if st := t.stat(); st != t.stamp {
			t.err = t.load()
		}
	}
	e, ok := t.byHash[HashToken(token)]
	if !ok {
		return pki.Identity{}, false
	}
	return pki.Identity{Name: e.Name, Role: e.Role, Tenants: slices.Clone(e.Tenants)}, true
}

// Err is the last reload error.
func (t *Tokens) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
