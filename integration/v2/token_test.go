package v2_test

// This file checks regauth's tokens with registry:2's own token package.

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/docker/distribution/registry/auth/token"

	"github.com/regauth/regauth/integration/internal/harness"
)

// TestTokenVerifies fetches a token from the token server for each kind of
// signing key and verifies it with the registry's token package as the
// registry configures it, then uses it on the registry.
func TestTokenVerifies(t *testing.T) { harness.RunTokenVerifies(t, newRegistry, verifyToken) }

// verifyToken checks minted with registry:2's token package.
func verifyToken(t *testing.T, minted harness.MintedToken) {
	// registry:2 parses the header and the claims before it checks
	// anything, so this alone fails on an aud list.
	tok, err := token.NewToken(minted.Raw)
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	if tok.Header.SigningAlg != minted.Alg {
		t.Errorf("alg %q, want %q", tok.Header.SigningAlg, minted.Alg)
	}
	opts := token.VerifyOptions{
		TrustedIssuers:    []string{harness.Issuer},
		AcceptedAudiences: []string{harness.Service},
		Roots:             minted.Roots,
	}
	if err := tok.Verify(opts); err != nil {
		t.Fatalf("verify: %v", err)
	}
	claims := tok.Claims
	if claims.Issuer != harness.Issuer || claims.Subject != minted.Subject ||
		claims.Audience != harness.Service {
		t.Errorf("iss %q, sub %q, aud %q; want %q, %q, %q", claims.Issuer, claims.Subject,
			claims.Audience, harness.Issuer, minted.Subject, harness.Service)
	}
	if got := accessList(claims.Access); !slices.Equal(got, minted.Access) {
		t.Errorf("access %q, want %q", got, minted.Access)
	}

	opts.Roots = minted.ForeignRoots
	if err := tok.Verify(opts); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("verify under another CA: got %v, want %v", err, token.ErrInvalidToken)
	}
}

// TestAudienceList shows what a list in the aud claim does: registry:2
// cannot parse the token and refuses it, though every other claim is valid
// (registry:3 accepts it; see the same test there). This is why regauth
// always writes a single string.
func TestAudienceList(t *testing.T) {
	e := harness.NewEnv(t, newRegistry)
	e.Client(t, &harness.Admin).PushRandom(t, "alice/app")
	raw := e.AudienceListToken(t)

	if _, err := token.NewToken(raw); !errors.Is(err, token.ErrMalformedToken) {
		t.Errorf("parse token: got %v, want %v", err, token.ErrMalformedToken)
	}
	status, challenge := e.RegistryGet(t, "/v2/alice/app/tags/list", raw)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("status %d (%s), want 401 with invalid_token", status, challenge)
	}
}

// accessList returns access as sorted type:name:actions strings.
func accessList(access []*token.ResourceActions) []string {
	out := make([]string, 0, len(access))
	for _, a := range access {
		out = append(out, a.Type+":"+a.Name+":"+strings.Join(a.Actions, ","))
	}
	slices.Sort(out)
	return out
}
