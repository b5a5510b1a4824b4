package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/pki"
)

// RunRotation replaces the signing key of the token server while clients
// keep asking for tokens and using them on the registry newRegistry
// returns. No request may fail, and the registry must accept tokens of the
// old key and of the new one alike: it trusts the CA that issued both, not
// a key.
func RunRotation(t *testing.T, newRegistry RegistryFunc) {
	e := NewEnv(t, newRegistry)
	c := e.Client(t, &Alice)
	c.PushRandom(t, "alice/app")
	const scope = "repository:alice/app:pull"
	const path = "/v2/alice/app/tags/list"

	before := e.FetchToken(t, &Alice, scope)

	// Workers ask for a token and use it, a bounded number of times each,
	// while the key changes under them.
	const workers, rounds = 4, 40
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		halfway  = make(chan struct{})
		once     sync.Once
		mu       sync.Mutex
		failures []string
	)
	for range workers {
		wg.Go(func() {
			for range rounds {
				if err := e.tokenAndGet(t.Context(), scope, path); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
				if done.Add(1) == workers*rounds/2 {
					once.Do(func() { close(halfway) })
				}
			}
		})
	}
	<-halfway // rotate half way through, with requests in flight
	e.tokens.SetSigner(newSigner(t, e.ca, pki.ECDSAP256))
	wg.Wait()

	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during rotation, first: %s",
			len(failures), workers*rounds, failures[0])
	}

	after := e.FetchToken(t, &Alice, scope)
	if x5c(t, before) == x5c(t, after) {
		t.Fatal("the token after rotation carries the old signing certificate")
	}
	for name, tok := range map[string]string{"old key": before, "new key": after} {
		if status, challenge := e.RegistryGet(t, path, tok); status != http.StatusOK {
			t.Errorf("token of the %s: registry answers %d (%s)", name, status, challenge)
		}
	}
}

// tokenAndGet fetches a token as Alice and reads the registry with it. It
// returns an error rather than failing the test, so that workers may call
// it from their own goroutines.
func (e *Env) tokenAndGet(ctx context.Context, scope, path string) error {
	q := url.Values{"service": {Service}, "scope": {scope}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.realm+"?"+q.Encode(), nil)
	req.SetBasicAuth(Alice.Name, Alice.Password)
	resp, err := e.transport.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	var body struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token request: status %d, %v", resp.StatusCode, err)
	}

	u := "https://" + e.registry.RegistryStr() + path
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+body.Token)
	resp, err = e.transport.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("registry request: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("registry answered %d: %s",
			resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	return nil
}

// x5c returns the signing certificate a token carries.
func x5c(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	chain, _ := tok.Header["x5c"].([]any)
	if len(chain) == 0 {
		t.Fatal("token has no x5c header")
	}
	return fmt.Sprint(chain[0])
}
