package harness

// This file checks the tokens themselves: those the token server mints,
// read by a registry generation's own token package, and tokens minted by
// hand, sent straight to the registry.

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

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

// MintedToken is a token the token server minted in RunTokenVerifies, with
// what a registry's token package must read in it.
type MintedToken struct {
	// Raw is the token as the token server returned it.
	Raw string
	// Alg is the JWS algorithm of the key that signed it.
	Alg string
	// Subject is the account it was minted for. Its issuer is Issuer and
	// its audience the single string Service.
	Subject string
	// Access is the access it grants, as sorted type:name:actions strings.
	Access []string
	// Roots holds the CA that issued the signing certificate: the token
	// must verify under it.
	Roots *x509.CertPool
	// ForeignRoots holds another CA: the token must not verify under it.
	ForeignRoots *x509.CertPool
}

// TokenVerifier verifies tok with one registry generation's token package,
// configured as that registry configures it, and fails t unless the
// package reads tok as MintedToken describes it.
type TokenVerifier func(t *testing.T, tok MintedToken)

// RunTokenVerifies fetches a token from the token server for each kind of
// signing key, one subtest each, has verify check it, and then uses it on
// the registry newRegistry returns.
func RunTokenVerifies(t *testing.T, newRegistry RegistryFunc, verify TokenVerifier) {
	e := NewEnv(t, newRegistry)
	e.Client(t, &Admin).PushRandom(t, "alice/app")
	foreignRoots := x509.NewCertPool()
	foreignRoots.AddCert(newUntrustedCA(t).Cert)

	for _, k := range signingKeys {
		t.Run(string(k.kt), func(t *testing.T) {
			e.tokens.SetSigner(newSigner(t, e.ca, k.kt))
			// Alice owns alice/** with pull and push, nothing else.
			raw := e.FetchToken(t, &Alice, "repository:alice/app:pull,push,delete",
				"repository:bob/app:pull", "registry:catalog:*")

			verify(t, MintedToken{
				Raw:          raw,
				Alg:          k.alg,
				Subject:      Alice.Name,
				Access:       []string{"repository:alice/app:pull,push"},
				Roots:        e.roots,
				ForeignRoots: foreignRoots,
			})

			status, challenge := e.RegistryGet(t, "/v2/alice/app/tags/list", raw)
			if status != http.StatusOK {
				t.Errorf("GET tags/list: status %d (%s), want 200", status, challenge)
			}
		})
	}
}

// RunTokenChecks sends tokens minted by hand straight to the registry
// newRegistry returns, one subtest each: the one regauth would mint is
// accepted, and each flaw, above all a signature from a CA the registry
// does not trust, is refused with a challenge that names the right error.
func RunTokenChecks(t *testing.T, newRegistry RegistryFunc) {
	e := NewEnv(t, newRegistry)
	e.Client(t, &Admin).PushRandom(t, "alice/app")
	trusted := newSigner(t, e.ca, pki.ECDSAP256)
	foreign := newSigner(t, newUntrustedCA(t), pki.ECDSAP256)

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
			c := claims(Alice.Name, pullAccess("alice/app"))
			if tc.edit != nil {
				tc.edit(c)
			}
			raw, err := tc.signer.Sign(c)
			if err != nil {
				t.Fatal(err)
			}

			status, challenge := e.RegistryGet(t, "/v2/alice/app/tags/list", raw)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, challenge, tc.status)
			}
			want := `error="` + tc.challengeError + `"`
			if tc.challengeError != "" && !strings.Contains(challenge, want) {
				t.Errorf("challenge %q, want error=%q", challenge, tc.challengeError)
			}
		})
	}
}

// AudienceListToken returns a token granting Alice pull on alice/app,
// valid in every way for e's registry except that its aud claim is a list
// rather than the single string regauth writes. Its signing key is new,
// with a certificate from e's CA.
func (e *Env) AudienceListToken(t *testing.T) string {
	t.Helper()
	signer := newSigner(t, e.ca, pki.ECDSAP256)
	c := claims(Alice.Name, pullAccess("alice/app"))

	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m jwt.MapClaims
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["aud"] = []string{c.Audience}

	// Signed as the Signer signs, with the certificate in x5c.
	kp := signer.KeyPair()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(signer.Algorithm()), m)
	tok.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(kp.Leaf().Raw)}
	raw, err := tok.SignedString(kp.Key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// newSigner issues a signing certificate of type kt from ca and returns a
// signer for it.
func newSigner(t *testing.T, ca *pki.CA, kt pki.KeyType) *tokenserver.Signer {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatalf("generate %s key: %v", kt, err)
	}
	cert, err := ca.IssueSigning("test signer "+string(kt), key.Public(), time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("issue signing certificate: %v", err)
	}
	signer, err := tokenserver.NewSigner(&pki.KeyPair{Chain: []*x509.Certificate{cert}, Key: key})
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	return signer
}

// newUntrustedCA returns a CA that no Env trusts.
func newUntrustedCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("another CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// claims returns valid claims for the registry granting access, as the
// token server would write them.
func claims(subject string, access ...tokenserver.Access) *tokenserver.Claims {
	now := time.Now().Truncate(time.Second)
	return &tokenserver.Claims{
		Issuer:    Issuer,
		Subject:   subject,
		Audience:  Service,
		ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        "test-" + subject,
		Access:    access,
	}
}

func pullAccess(repo string) tokenserver.Access {
	return tokenserver.Access{Type: "repository", Name: repo, Actions: []string{"pull"}}
}
