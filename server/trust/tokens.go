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
	// Expires is the end of the token's life; a token written without
	// one lives DefaultValidity from Created.
	Expires time.Time `json:"expires,omitzero"`
}

// ExpiresAt is when the token stops being accepted.
func (e TokenEntry) ExpiresAt() time.Time {
	if e.Expires.IsZero() {
		return e.Created.Add(DefaultValidity)
	}
	return e.Expires
}

// HashToken is the hex SHA-256 of a token as the file stores it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AddToken creates a bearer token for name with role over tenants, valid
// for lifetime (0: DefaultValidity), records its hash in the token file and
// returns the token; it is shown once and never stored.
func (t *Trust) AddToken(name, role string, tenants []string, lifetime time.Duration) (string, TokenEntry, error) {
	if name == "" {
		return "", TokenEntry{}, errors.New("token name is empty")
	}
	if role != pki.RoleAdmin && role != pki.RoleViewer {
		return "", TokenEntry{}, fmt.Errorf("role %q: use admin or viewer", role)
	}
	if err := validTenants(tenants); err != nil {
		return "", TokenEntry{}, err
	}
	lifetime, err := validity(lifetime)
	if err != nil {
		return "", TokenEntry{}, err
	}
	path := t.Path(TokensFile)
	entries, err := readTokens(path)
	if err != nil {
		return "", TokenEntry{}, err
	}
	if slices.ContainsFunc(entries, func(e TokenEntry) bool { return e.Name == name }) {
		return "", TokenEntry{}, fmt.Errorf("a token named %q exists; revoke or rotate it", name)
	}
	token, err := newToken()
	if err != nil {
		return "", TokenEntry{}, err
	}
	now := time.Now().UTC()
	e := TokenEntry{Name: name, Role: role, Tenants: tenants, SHA256: HashToken(token), Created: now, Expires: now.Add(lifetime)}
	return token, e, writeTokens(path, append(entries, e))
}

func newToken() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// RotateToken replaces the token named name with a new one of the same
// role and tenants, valid for lifetime; the old token stops working at once.
func (t *Trust) RotateToken(name string, lifetime time.Duration) (string, TokenEntry, error) {
	lifetime, err := validity(lifetime)
	if err != nil {
		return "", TokenEntry{}, err
	}
	path := t.Path(TokensFile)
	entries, err := readTokens(path)
	if err != nil {
		return "", TokenEntry{}, err
	}
	i := slices.IndexFunc(entries, func(e TokenEntry) bool { return e.Name == name })
	if i < 0 {
		return "", TokenEntry{}, fmt.Errorf("no token named %q", name)
	}
	token, err := newToken()
	if err != nil {
		return "", TokenEntry{}, err
	}
	now := time.Now().UTC()
	entries[i].SHA256, entries[i].Created, entries[i].Expires = HashToken(token), now, now.Add(lifetime)
	return token, entries[i], writeTokens(path, entries)
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

// TokenList is the token file's entries (hashes, never tokens).
func (t *Trust) TokenList() ([]TokenEntry, error) { return readTokens(t.Path(TokensFile)) }

func readTokens(path string) ([]TokenEntry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	return decodeTokens(path, data)
}

func decodeTokens(path string, data []byte) ([]TokenEntry, error) {
	if len(data) == 0 {
		return nil, nil
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
	file *Watched[map[string]TokenEntry]
}

// LoadTokens reads a token file; a missing file holds no tokens.
func LoadTokens(path string) (*Tokens, error) {
	w, err := Watch(path, parseTokens)
	if err != nil {
		return nil, err
	}
	return &Tokens{file: w}, nil
}

func parseTokens(path string, data []byte) (map[string]TokenEntry, error) {
	entries, err := decodeTokens(path, data)
	if err != nil {
		return nil, err
	}
	m := make(map[string]TokenEntry, len(entries))
	for _, e := range entries {
		m[e.SHA256] = e
	}
	return m, nil
}

// Lookup returns the identity a bearer token names, while it lives.
func (t *Tokens) Lookup(token string) (pki.Identity, bool) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return pki.Identity{}, false
	}
	e, ok := t.file.Get()[HashToken(token)]
	if !ok || !time.Now().Before(e.ExpiresAt()) {
		return pki.Identity{}, false
	}
	return pki.Identity{Name: e.Name, Role: e.Role, Tenants: slices.Clone(e.Tenants), Credential: TokenCredential(token)}, true
}

// TokenCredential is the Credential of an identity proved by token.
func TokenCredential(token string) string { return "token:" + HashToken(token) }

// Live reports whether a token credential (TokenCredential) is still in
// the file and unexpired.
func (t *Tokens) Live(credential string) bool {
	hash, ok := strings.CutPrefix(credential, "token:")
	if !ok {
		return false
	}
	e, ok := t.file.Get()[hash]
	return ok && time.Now().Before(e.ExpiresAt())
}

// Err is the last reload error.
func (t *Tokens) Err() error { return t.file.Err() }
