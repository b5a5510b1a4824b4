package users

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// TokenFile keeps refresh token records in a YAML file beside the users
// file. It is written at each docker login and read at each refresh.
type TokenFile struct {
	m   mapFile[RefreshToken]
	now func() time.Time
	// lastMiss is when a lookup last read the file again for an id it did
	// not know (Unix nanoseconds); see LookupToken.
	lastMiss atomic.Int64
}

// missReload is the least time between two reads of the file for unknown
// ids. Anyone can send a made-up refresh token; without it each would cost
// a parse of the whole file.
const missReload = time.Second

var _ TokenStore = (*TokenFile)(nil)

// OpenTokenFile loads the token file at path; a missing file is empty.
func OpenTokenFile(path string) (*TokenFile, error) {
	f := &TokenFile{
		m:   mapFile[RefreshToken]{path: path, parse: parseTokens, marshal: marshalTokens},
		now: time.Now,
	}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path returns the file the store reads.
func (f *TokenFile) Path() string { return f.m.path }

// Reload reads the file again and serves it if it is valid.
func (f *TokenFile) Reload() error { return f.m.reload() }

// SaveToken implements TokenStore. Expired records go at the same time,
// so the file does not grow without end.
func (f *TokenFile) SaveToken(_ context.Context, t RefreshToken) error {
	now := f.now()
	return f.m.update(func(m map[string]RefreshToken) error {
		maps.DeleteFunc(m, func(_ string, old RefreshToken) bool { return !now.Before(old.Expires) })
		m[t.ID] = t
		return nil
	})
}

// LookupToken implements TokenStore. A record this process has not seen
// yet, written by another token server sharing the file a moment ago, is
// looked for again in the file before the token is refused, at most once
// a second; the file watch brings it in within a fraction of that anyway.
func (f *TokenFile) LookupToken(_ context.Context, id string) (RefreshToken, error) {
	if t, ok := f.m.load()[id]; ok {
		return t, nil
	}
	now, last := f.now().UnixNano(), f.lastMiss.Load()
	if now-last < int64(missReload) || !f.lastMiss.CompareAndSwap(last, now) {
		return RefreshToken{}, ErrNotFound
	}
	if err := f.m.reload(); err != nil {
		return RefreshToken{}, err
	}
	if t, ok := f.m.load()[id]; ok {
		return t, nil
	}
	return RefreshToken{}, ErrNotFound
}

// ListTokens implements TokenStore.
func (f *TokenFile) ListTokens(_ context.Context, account string) ([]RefreshToken, error) {
	var out []RefreshToken
	for _, t := range f.m.load() {
		if account == "" || t.Account == account {
			out = append(out, t)
		}
	}
	sortTokens(out)
	return out, nil
}

// RevokeTokens implements TokenStore.
func (f *TokenFile) RevokeTokens(_ context.Context, ids ...string) (int, error) {
	n := 0
	err := f.m.update(func(m map[string]RefreshToken) error {
		for _, id := range ids {
			if _, ok := m[id]; ok {
				delete(m, id)
				n++
			}
		}
		return nil
	})
	return n, err
}

func sortTokens(ts []RefreshToken) {
	slices.SortFunc(ts, func(a, b RefreshToken) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
}

func parseTokens(data []byte) (map[string]RefreshToken, error) {
	var doc struct {
		Tokens map[string]RefreshToken `yaml:"tokens"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid token file: %w", err)
	}
	m := make(map[string]RefreshToken, len(doc.Tokens))
	for id, t := range doc.Tokens {
		t.ID = id
		m[id] = t
	}
	return m, nil
}

func marshalTokens(m map[string]RefreshToken) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# regauth refresh tokens: hashes of their secrets, never the tokens.\n" +
		"# Manage with \"regauth token list\" and \"regauth token revoke\".\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"tokens": m}); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}
