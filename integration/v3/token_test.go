package v3_test

// This file checks regauth's tokens with registry:3's own token package.

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/auth/token"
	"github.com/go-jose/go-jose/v4"

	"github.com/regauth/regauth/integration/internal/harness"
)

// TestTokenVerifies fetches a token from the token server for each kind of
// signing key and verifies it with the registry's token package as the
// registry configures it, then uses it on the registry.
func TestTokenVerifies(t *testing.T) { harness.RunTokenVerifies(t, newRegistry, verifyToken) }

// verifyToken checks minted with registry:3's token package.
func verifyToken(t *testing.T, minted harness.MintedToken) {
	// The registry accepts only the algorithms it is configured for;
	// naming just one proves which the token uses.
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(minted.Alg)}
	tok, err := token.NewToken(minted.Raw, algs)
	if err != nil {
		t.Fatalf("parse token as %s: %v", minted.Alg, err)
	}
	opts := token.VerifyOptions{
		TrustedIssuers:    []string{harness.Issuer},
		AcceptedAudiences: []string{harness.Service},
		Roots:             minted.Roots,
	}
	claims, err := tok.Verify(opts)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims.Issuer != harness.Issuer || claims.Subject != minted.Subject ||
		!slices.Equal(claims.Audience, token.AudienceList{harness.Service}) {
		t.Errorf("iss %q, sub %q, aud %q; want %q, %q, [%q]", claims.Issuer, claims.Subject,
			claims.Audience, harness.Issuer, minted.Subject, harness.Service)
	}
	if got := accessList(claims.Access); !slices.Equal(got, minted.Access) {
		t.Errorf("access %q, want %q", got, minted.Access)
	}

	opts.Roots = minted.ForeignRoots
	if _, err := tok.Verify(opts); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("verify under another CA: got %v, want %v", err, token.ErrInvalidToken)
	}
}

// TestAudienceList shows what a list in the aud claim does: registry:3
// accepts it. registry:2 refuses it (see the same test there), which is why
// regauth always writes a single string.
func TestAudienceList(t *testing.T) {
	e := harness.NewEnv(t, newRegistry)
	e.Client(t, &harness.Admin).PushRandom(t, "alice/app")
	raw := e.AudienceListToken(t)

	status, challenge := e.RegistryGet(t, "/v2/alice/app/tags/list", raw)
	if status != http.StatusOK {
		t.Errorf("status %d (%s), want 200", status, challenge)
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
