package v2_test

// This file checks regauth's tokens with the registry's token package
// itself, and the registry's answer to tokens minted by hand.

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/distribution/registry/auth/token"
	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/tokenserver"
)

// signingKeys are the kinds of signing key tested, with the JWS algorithm
// a token signed by each must carry.
var signingKeys = []struct {
	kt  pki.KeyType
	alg string
}{
	{pki.ECDSAP256, "ES256"},
	{pki.ECDSAP384, "ES384"},
	{pki.RSA2048, "RS256"},
}

// TestTokenVerifies fetches a token from the token server for each kind of
// signing key and verifies it with the registry's token package as the
// registry configures it, then uses it on the registry.
func TestTokenVerifies(t *testing.T) {
	e := newEnv(t)
	e.client(t, &admin).pushRandom(t, "alice/app")
	foreignRoots := x509.NewCertPool()
	foreignRoots.AddCert(newCA(t).Cert)

	for _, k := range signingKeys {
		t.Run(string(k.kt), func(t *testing.T) {
			e.tokens.SetSigner(newSigner(t, e.ca, k.kt))
			// alice owns alice/** with pull and push, nothing else.
			raw := e.fetchToken(t, &alice, "repository:alice/app:pull,push,delete",
				"repository:bob/app:pull", "registry:catalog:*")

			// registry:2 parses the header and the claims before it
			// checks anything, so this alone fails on an aud list.
			tok, err := token.NewToken(raw)
			if err != nil {
				t.Fatalf("parse token: %v", err)
			}
			if tok.Header.SigningAlg != k.alg {
				t.Errorf("alg %q, want %q", tok.Header.SigningAlg, k.alg)
			}
			opts := token.VerifyOptions{
				TrustedIssuers:    []string{issuer},
				AcceptedAudiences: []string{service},
				Roots:             e.roots,
			}
			if err := tok.Verify(opts); err != nil {
				t.Fatalf("verify: %v", err)
			}
			claims := tok.Claims
			if claims.Issuer != issuer || claims.Subject != alice.name || claims.Audience != service {
				t.Errorf("iss %q, sub %q, aud %q; want %q, %q, %q",
					claims.Issuer, claims.Subject, claims.Audience, issuer, alice.name, service)
			}
			want := []string{"repository:alice/app:pull,push"}
			if got := accessList(claims.Access); !slices.Equal(got, want) {
				t.Errorf("access %q, want %q", got, want)
			}

			opts.Roots = foreignRoots
			if err := tok.Verify(opts); !errors.Is(err, token.ErrInvalidToken) {
				t.Errorf("verify under another CA: got %v, want %v", err, token.ErrInvalidToken)
			}

			status, challenge := e.registryGet(t, "/v2/alice/app/tags/list", raw)
			if status != http.StatusOK {
				t.Errorf("GET tags/list: status %d (%s), want 200", status, challenge)
			}
		})
	}
}

// TestRegistryChecksTokens sends tokens minted by hand straight to the
// registry: the one regauth would mint is accepted, and each flaw, above
// all a signature from a CA the registry does not trust, is refused.
func TestRegistryChecksTokens(t *testing.T) {
	e := newEnv(t)
	e.client(t, &admin).pushRandom(t, "alice/app")
	trusted := newSigner(t, e.ca, pki.ECDSAP256)
	foreign := newSigner(t, newCA(t), pki.ECDSAP256)

	past := time.Now().Add(-10 * time.Minute)
	tests := []struct {
		name   string
		signer *tokenserver.Signer
		edit   func(c *tokenserver.Claims)
		status int
		// challengeError is the error the registry's challenge names.
		challengeError string
	}{
		{name: "signed under the trusted CA", signer: trusted, status: http.StatusOK},
		{
			name:   "signed under another CA",
			signer: foreign, status: http.StatusUnauthorized, challengeError: "invalid_token",
		},
		{
			name: "untrusted issuer", signer: trusted,
			edit:   func(c *tokenserver.Claims) { c.Issuer = "someone-else" },
			status: http.StatusUnauthorized, challengeError: "invalid_token",
		},
		{
			name: "audience of another service", signer: trusted,
			edit:   func(c *tokenserver.Claims) { c.Audience = "other.test" },
			status: http.StatusUnauthorized, challengeError: "invalid_token",
		},
		{
			name: "expired beyond the leeway", signer: trusted,
			edit: func(c *tokenserver.Claims) {
				c.IssuedAt, c.NotBefore = jwt.NewNumericDate(past), jwt.NewNumericDate(past)
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Minute))
			},
			status: http.StatusUnauthorized, challengeError: "invalid_token",
		},
		{
			name: "not valid yet beyond the leeway", signer: trusted,
			edit: func(c *tokenserver.Claims) {
				c.NotBefore = jwt.NewNumericDate(time.Now().Add(2 * time.Minute))
			},
			status: http.StatusUnauthorized, challengeError: "invalid_token",
		},
		{
			name: "access to another repository", signer: trusted,
			edit:   func(c *tokenserver.Claims) { c.Access[0].Name = "alice/other" },
			status: http.StatusUnauthorized, challengeError: "insufficient_scope",
		},
		{
			name: "push without pull", signer: trusted,
			edit:   func(c *tokenserver.Claims) { c.Access[0].Actions = []string{"push"} },
			status: http.StatusUnauthorized, challengeError: "insufficient_scope",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := claims(alice.name, pullAccess("alice/app"))
			if tc.edit != nil {
				tc.edit(c)
			}
			raw, err := tc.signer.Sign(c)
			if err != nil {
				t.Fatal(err)
			}

			status, challenge := e.registryGet(t, "/v2/alice/app/tags/list", raw)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, challenge, tc.status)
			}
			if tc.challengeError != "" && !strings.Contains(challenge, `error="`+tc.challengeError+`"`) {
				t.Errorf("challenge %q, want error=%q", challenge, tc.challengeError)
			}
		})
	}
}

// TestAudienceList shows what a list in the aud claim does: registry:2
// cannot parse the token and refuses it, though every other claim is valid
// (registry:3 accepts it; see the same test there). This is why regauth
// always writes a single string.
func TestAudienceList(t *testing.T) {
	e := newEnv(t)
	e.client(t, &admin).pushRandom(t, "alice/app")
	raw := signWithAudienceList(t, newSigner(t, e.ca, pki.ECDSAP256),
		claims(alice.name, pullAccess("alice/app")))

	if _, err := token.NewToken(raw); !errors.Is(err, token.ErrMalformedToken) {
		t.Errorf("parse token: got %v, want %v", err, token.ErrMalformedToken)
	}
	status, challenge := e.registryGet(t, "/v2/alice/app/tags/list", raw)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("status %d (%s), want 401 with invalid_token", status, challenge)
	}
}

// signWithAudienceList signs c as signer would, but with aud as a list.
func signWithAudienceList(t *testing.T, signer *tokenserver.Signer, c *tokenserver.Claims) string {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m jwt.MapClaims
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["aud"] = []string{c.Audience}

	kp := signer.KeyPair()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(signer.Algorithm()), m)
	tok.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(kp.Leaf().Raw)}
	raw, err := tok.SignedString(kp.Key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("another CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func pullAccess(repo string) tokenserver.Access {
	return tokenserver.Access{Type: "repository", Name: repo, Actions: []string{"pull"}}
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
