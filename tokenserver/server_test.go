package tokenserver

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/users"
)

// testNow is the clock of every test server, so that claims are exact.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testService = "registry.test"
	testIssuer  = "regauth-test"
)

// testRules give the fake accounts below something to differ on.
const testRules = `rules:
  - anonymous: true
    repositories: ["public/**"]
    actions: [pull]
  - accounts: ["*"]
    repositories: ["${account}/**"]
    actions: ["*"]
  - teams: [dev]
    repositories: ["dev/**"]
    actions: [pull, push]
  - accounts: [admin]
    repositories: ["**"]
    actions: ["*"]
  - accounts: [admin]
    catalog: true
`

// fakeAccounts is an in-memory Accounts with clear-text passwords.
type fakeAccounts struct {
	passwords map[string]string
	teams     map[string][]string
	err       error // when set, every call fails with it, as a store that is down
}

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{
		passwords: map[string]string{
			"alice": "alice-pw:with:colons",
			"bob":   "bob-pw",
			"admin": "admin-pw",
		},
		teams: map[string][]string{"alice": {"dev"}},
	}
}

func (f *fakeAccounts) Authenticate(_ context.Context, name, password string) (
	users.Account, error) {
	if f.err != nil {
		return users.Account{}, f.err
	}
	want, ok := f.passwords[name]
	if !ok || password != want {
		return users.Account{}, fmt.Errorf("account %q: %w", name, users.ErrBadCredentials)
	}
	return users.Account{Name: name, Teams: f.teams[name]}, nil
}

// newTestCA returns a CA valid around testNow.
func newTestCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("regauth test CA", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// newTestSigner returns a Signer with a key of type kt certified by ca.
func newTestSigner(t testing.TB, ca *pki.CA, kt pki.KeyType) *Signer {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueSigning("regauth test signer", key.Public(), testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(&pki.KeyPair{Chain: []*x509.Certificate{cert}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness is a Server with its collaborators, built for one test.
type harness struct {
	srv      *Server
	ca       *pki.CA
	accounts *fakeAccounts
	logs     *bytes.Buffer // the audit log, as JSON lines
}

// newHarness returns a server for testService and testIssuer on testNow's
// clock. cfg may set TokenTTL; the rest of it is filled in.
func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	ca := newTestCA(t)
	policy, _, err := acl.Parse([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{ca: ca, accounts: newFakeAccounts(), logs: &bytes.Buffer{}}
	cfg.Service, cfg.Issuer = testService, testIssuer
	cfg.Logger = slog.New(slog.NewJSONHandler(h.logs, nil))
	cfg.Now = func() time.Time { return testNow }
	h.srv = New(cfg, newTestSigner(t, ca, pki.ECDSAP256), h.accounts,
		func() *acl.Policy { return policy })
	return h
}

// do sends one request with query and an Authorization header when auth is
// not empty.
func (h *harness) do(method, query, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/token", nil)
	r.URL.RawQuery = query
	r.RemoteAddr = "192.0.2.7:41234"
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// query builds a token request query: service, then the scopes, then any
// extra key=value pairs.
func query(scopes []string, extra ...string) string {
	v := url.Values{"service": {testService}}
	for _, s := range scopes {
		v.Add("scope", s)
	}
	for _, kv := range extra {
		k, val, _ := strings.Cut(kv, "=")
		if k == "service" {
			v.Del(k) // replaces the default; "service=" leaves none
			if val == "" {
				continue
			}
		}
		v.Add(k, val)
	}
	return v.Encode()
}

// tokenBody is a successful answer as a client reads it.
type tokenBody struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// decodeToken checks the envelope of a successful answer and returns it.
func decodeToken(t testing.TB, w *httptest.ResponseRecorder) tokenBody {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var b tokenBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	if b.Token == "" || b.Token != b.AccessToken {
		t.Errorf("token %q and access_token %q, want the same non-empty value", b.Token, b.AccessToken)
	}
	issued, err := time.Parse(time.RFC3339, b.IssuedAt)
	if err != nil || !issued.Equal(testNow) || !strings.HasSuffix(b.IssuedAt, "Z") {
		t.Errorf("issued_at %q, want %s in RFC 3339 UTC (%v)",
			b.IssuedAt, testNow.Format(time.RFC3339), err)
	}
	return b
}

// verifyToken checks token the way a registry does: the x5c chain against
// root, then the signature, issuer, audience and times at testNow.
func verifyToken(token string, root *x509.Certificate) (*Claims, *jwt.Token, error) {
	claims := &Claims{}
	parsed, err := jwt.ParseWithClaims(token, claims, x5cKey(root),
		jwt.WithValidMethods([]string{"ES256", "ES384", "ES512", "RS256"}),
		jwt.WithTimeFunc(func() time.Time { return testNow }),
		jwt.WithIssuer(testIssuer),
		jwt.WithAudience(testService),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	return claims, parsed, err
}

// x5cKey returns the key of the certificate that leads a token's x5c
// header, once its chain verifies against root.
func x5cKey(root *x509.Certificate) jwt.Keyfunc {
	return func(tok *jwt.Token) (any, error) {
		raw, ok := tok.Header["x5c"].([]any)
		if !ok || len(raw) == 0 {
			return nil, errors.New("no x5c header")
		}
		var chain []*x509.Certificate
		for _, r := range raw {
			s, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("x5c entry %v is not a string", r)
			}
			der, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("x5c entry: %w", err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("x5c entry: %w", err)
			}
			chain = append(chain, c)
		}
		roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(root)
		for _, c := range chain[1:] {
			intermediates.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			CurrentTime:   testNow,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			return nil, fmt.Errorf("x5c chain: %w", err)
		}
		return chain[0].PublicKey, nil
	}
}

func mustVerify(t testing.TB, token string, root *x509.Certificate) *Claims {
	t.Helper()
	claims, _, err := verifyToken(token, root)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	return claims
}

// rawPayload returns the JSON members of a token's payload as sent.
func rawPayload(t testing.TB, token string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("payload %s: %v", data, err)
	}
	return m
}

func TestTokenClaims(t *testing.T) {
	h := newHarness(t, Config{TokenTTL: 10 * time.Minute})
	w := h.do(http.MethodGet, query([]string{
		"repository:dev/app:pull,push",
		"repository:alice/tools:*",
		"repository:secret/app:pull",
	}, "account=alice", "client_id=docker"), basicHeader("alice", "alice-pw:with:colons"))
	body := decodeToken(t, w)

	claims, parsed, err := verifyToken(body.Token, h.ca.Cert)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	if alg := parsed.Header["alg"]; alg != "ES256" {
		t.Errorf("alg %v, want ES256", alg)
	}
	if typ := parsed.Header["typ"]; typ != "JWT" {
		t.Errorf("typ %v, want JWT", typ)
	}
	if x5c, _ := parsed.Header["x5c"].([]any); len(x5c) != 1 {
		t.Errorf("x5c holds %d certificates, want the signing certificate alone", len(x5c))
	}

	names := []struct{ claim, got, want string }{
		{"iss", claims.Issuer, testIssuer},
		{"sub", claims.Subject, "alice"},
		{"aud", claims.Audience, testService},
	}
	for _, c := range names {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.claim, c.got, c.want)
		}
	}
	times := []struct {
		claim string
		got   *jwt.NumericDate
		want  time.Time
	}{
		{"iat", claims.IssuedAt, testNow},
		{"nbf", claims.NotBefore, testNow},
		{"exp", claims.ExpiresAt, testNow.Add(10 * time.Minute)},
	}
	for _, c := range times {
		if c.got == nil || !c.got.Equal(c.want) {
			t.Errorf("%s %v, want %v", c.claim, c.got, c.want)
		}
	}
	if claims.ID == "" {
		t.Error("jti is empty")
	}
	wantAccess := []Access{
		{Type: "repository", Name: "dev/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "alice/tools", Actions: []string{"pull", "push", "delete"}},
	}
	if !slices.EqualFunc(claims.Access, wantAccess, accessEqual) {
		t.Errorf("access %+v, want %+v", claims.Access, wantAccess)
	}
	if got := claims.ExpiresAt.Sub(claims.IssuedAt.Time); got != 10*time.Minute {
		t.Errorf("exp - iat = %v, want the TTL of 10m", got)
	}
	if body.ExpiresIn != 600 {
		t.Errorf("expires_in %d, want 600", body.ExpiresIn)
	}

	// registry:2 fails on an audience list, so aud must be a JSON string.
	payload := rawPayload(t, body.Token)
	var aud string
	if err := json.Unmarshal(payload["aud"], &aud); err != nil {
		t.Errorf("aud is %s, want a JSON string: %v", payload["aud"], err)
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %q: %v", k, payload)
		}
	}
}

func accessEqual(a, b Access) bool {
	return a.Type == b.Type && a.Name == b.Name && slices.Equal(a.Actions, b.Actions)
}

func TestTokenRejectedUnderAnotherCA(t *testing.T) {
	h := newHarness(t, Config{})
	body := decodeToken(t, h.do(http.MethodGet, query([]string{"repository:public/a:pull"}), ""))

	other := newTestCA(t)
	if _, _, err := verifyToken(body.Token, other.Cert); err == nil {
		t.Fatal("token verified against a CA that did not issue its certificate")
	}
}

func TestServeToken(t *testing.T) {
	alice := basicHeader("alice", "alice-pw:with:colons")
	repo := func(name string, actions ...string) Access {
		return Access{Type: "repository", Name: name, Actions: actions}
	}
	tests := []struct {
		name       string
		method     string
		query      string
		auth       string
		wantSub    string
		wantAccess []Access
	}{
		{
			name:       "anonymous pull",
			query:      query([]string{"repository:public/app:pull"}),
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "anonymous push gets pull only",
			query:      query([]string{"repository:public/app:pull,push"}),
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "anonymous and nothing allowed",
			query:      query([]string{"repository:dev/app:pull"}),
			wantAccess: []Access{},
		},
		{
			name:       "anonymous ignores an account parameter",
			query:      query([]string{"repository:public/app:pull"}, "account=mallory"),
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "HEAD works as GET",
			method:     http.MethodHead,
			query:      query([]string{"repository:public/app:pull"}),
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "team push",
			query:      query([]string{"repository:dev/app:pull,push"}, "account=alice"),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{repo("dev/app", "pull", "push")},
		},
		{
			name:       "partial grant",
			query:      query([]string{"repository:dev/app:pull,push,delete"}),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{repo("dev/app", "pull", "push")},
		},
		{
			name:       "empty grant",
			query:      query([]string{"repository:secret/app:pull"}),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{},
		},
		{
			name: "anonymous rules apply when signed in",
			query: query([]string{"repository:public/app:pull,push",
				"repository:bob/app:pull"}),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "scopes of one repository merged",
			query:      query([]string{"repository:dev/app:pull", "repository:dev/app:push"}),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{repo("dev/app", "pull", "push")},
		},
		{
			name:    "cross-repository mount in one value",
			query:   query([]string{"repository:dev/app:pull,push repository:public/base:pull"}),
			auth:    alice,
			wantSub: "alice",
			wantAccess: []Access{repo("dev/app", "pull", "push"),
				repo("public/base", "pull")},
		},
		{
			name:       "catalog is a star",
			query:      query([]string{"registry:catalog:*"}),
			auth:       basicHeader("admin", "admin-pw"),
			wantSub:    "admin",
			wantAccess: []Access{{Type: "registry", Name: "catalog", Actions: []string{"*"}}},
		},
		{
			name:       "plugin class",
			query:      query([]string{"repository(plugin):alice/sshfs:pull"}),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{repo("alice/sshfs", "pull")},
		},
		{
			name:       "docker login",
			query:      query(nil, "account=alice", "client_id=docker", "offline_token=true"),
			auth:       alice,
			wantSub:    "alice",
			wantAccess: []Access{},
		},
		{
			name:       "no service",
			query:      query([]string{"repository:public/app:pull"}, "service="),
			wantAccess: []Access{repo("public/app", "pull")},
		},
		{
			name:       "lower-case Basic scheme",
			query:      query([]string{"repository:bob/app:push"}),
			auth:       "basic " + strings.TrimPrefix(basicHeader("bob", "bob-pw"), "Basic "),
			wantSub:    "bob",
			wantAccess: []Access{repo("bob/app", "push")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			body := decodeToken(t, h.do(method, tt.query, tt.auth))
			if body.ExpiresIn != int(DefaultTokenTTL/time.Second) {
				t.Errorf("expires_in %d, want %d", body.ExpiresIn, int(DefaultTokenTTL/time.Second))
			}

			claims := mustVerify(t, body.Token, h.ca.Cert)
			if claims.Subject != tt.wantSub {
				t.Errorf("sub %q, want %q", claims.Subject, tt.wantSub)
			}
			if !slices.EqualFunc(claims.Access, tt.wantAccess, accessEqual) {
				t.Errorf("access %+v, want %+v", claims.Access, tt.wantAccess)
			}
			if access := rawPayload(t, body.Token)["access"]; string(access) == "null" {
				t.Error("access is null, want a list")
			}
		})
	}
}

func TestServeErrors(t *testing.T) {
	manyScopes := make([]string, acl.MaxScopes+1)
	for i := range manyScopes {
		manyScopes[i] = fmt.Sprintf("repository:public/app%d:pull", i)
	}
	tests := []struct {
		name       string
		method     string
		query      string
		auth       string
		storeErr   error
		wantStatus int
	}{
		{"wrong password", http.MethodGet, query([]string{"repository:dev/app:pull"}),
			basicHeader("alice", "wrong"), nil, http.StatusUnauthorized},
		{"unknown account", http.MethodGet, query(nil),
			basicHeader("nobody", "pw"), nil, http.StatusUnauthorized},
		{"store down", http.MethodGet, query([]string{"repository:dev/app:pull"}),
			basicHeader("alice", "alice-pw:with:colons"),
			errors.New("dial tcp 10.0.0.9:6379: connection refused"), http.StatusServiceUnavailable},
		{"malformed Basic", http.MethodGet, query(nil),
			"Basic not*base64", nil, http.StatusBadRequest},
		{"Basic without a colon", http.MethodGet, query(nil),
			"Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), nil, http.StatusBadRequest},
		{"Bearer scheme", http.MethodGet, query(nil),
			"Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig", nil, http.StatusBadRequest},
		{"bad scope", http.MethodGet, query([]string{"repository:dev/app"}),
			"", nil, http.StatusBadRequest},
		{"upper-case repository", http.MethodGet, query([]string{"repository:Dev/App:pull"}),
			"", nil, http.StatusBadRequest},
		{"too many scopes", http.MethodGet, query(manyScopes),
			"", nil, http.StatusBadRequest},
		{"wrong service", http.MethodGet, query(nil, "service=other.registry"),
			"", nil, http.StatusBadRequest},
		{"account mismatch", http.MethodGet, query(nil, "account=bob"),
			basicHeader("alice", "alice-pw:with:colons"), nil, http.StatusBadRequest},
		{"malformed query", http.MethodGet, "service=" + testService + "&scope=%zz",
			"", nil, http.StatusBadRequest},
		{"query too long", http.MethodGet, "service=" + testService + "&x=" +
			strings.Repeat("a", maxQueryLen), "", nil, http.StatusBadRequest},
		{"POST without a form", http.MethodPost, query(nil), "", nil, http.StatusBadRequest},
		{"PUT", http.MethodPut, query(nil), "", nil, http.StatusMethodNotAllowed},
		{"DELETE", http.MethodDelete, query(nil), "", nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.accounts.err = tt.storeErr
			w := h.do(tt.method, tt.query, tt.auth)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			challenge := w.Header().Get("WWW-Authenticate")
			if tt.wantStatus == http.StatusUnauthorized {
				if !strings.HasPrefix(challenge, "Basic realm=") {
					t.Errorf("WWW-Authenticate %q, want a Basic challenge", challenge)
				}
			} else if challenge != "" {
				t.Errorf("WWW-Authenticate %q on a %d", challenge, w.Code)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed {
				if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
					t.Errorf("Allow %q, want GET listed", allow)
				}
			}

			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Errors      []struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"errors"`
				Token *string `json:"token"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if body.Error == "" || len(body.Errors) == 0 || body.Errors[0].Code == "" ||
				body.Errors[0].Message == "" {
				t.Errorf("body %s, want error and a non-empty errors list", w.Body)
			}
			if body.Token != nil {
				t.Errorf("error body carries a token: %s", w.Body)
			}
			if tt.storeErr != nil && strings.Contains(w.Body.String(), "10.0.0.9") {
				t.Errorf("body leaks the store's error: %s", w.Body)
			}
		})
	}
}

func TestTokenTTL(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration
	}{
		{"unset is the default", 0, DefaultTokenTTL},
		{"below the floor", 10 * time.Second, MinTokenTTL},
		{"negative", -5 * time.Minute, MinTokenTTL},
		{"at the floor", 60 * time.Second, 60 * time.Second},
		{"above the floor", 90 * time.Second, 90 * time.Second},
		{"an hour", time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{TokenTTL: tt.ttl})
			body := decodeToken(t, h.do(http.MethodGet, query([]string{"repository:public/a:pull"}), ""))
			if got := time.Duration(body.ExpiresIn) * time.Second; got != tt.want {
				t.Errorf("expires_in %v, want %v", got, tt.want)
			}
			claims := mustVerify(t, body.Token, h.ca.Cert)
			if got := claims.ExpiresAt.Sub(claims.IssuedAt.Time); got != tt.want {
				t.Errorf("exp - iat = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTokenIDsUnique(t *testing.T) {
	h := newHarness(t, Config{})
	seen := map[string]bool{}
	for range 50 {
		body := decodeToken(t, h.do(http.MethodGet, query([]string{"repository:public/a:pull"}), ""))
		id := mustVerify(t, body.Token, h.ca.Cert).ID
		if len(id) < 16 {
			t.Fatalf("jti %q is too short to be unique", id)
		}
		if seen[id] {
			t.Fatalf("jti %q issued twice", id)
		}
		seen[id] = true
	}
}

func TestSignerKeyTypes(t *testing.T) {
	tests := []struct {
		kt      pki.KeyType
		wantAlg string
	}{
		{pki.ECDSAP256, "ES256"},
		{pki.ECDSAP384, "ES384"},
		{pki.RSA2048, "RS256"},
		{pki.RSA4096, "RS256"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kt), func(t *testing.T) {
			ca := newTestCA(t)
			s := newTestSigner(t, ca, tt.kt)
			if s.Algorithm() != tt.wantAlg {
				t.Errorf("Algorithm() = %s, want %s", s.Algorithm(), tt.wantAlg)
			}
			token, err := s.Sign(&Claims{
				Issuer: testIssuer, Audience: testService,
				IssuedAt:  jwt.NewNumericDate(testNow),
				ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Minute)),
				Access:    []Access{},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, parsed, err := verifyToken(token, ca.Cert)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if parsed.Method.Alg() != tt.wantAlg {
				t.Errorf("token alg %s, want %s", parsed.Method.Alg(), tt.wantAlg)
			}
		})
	}
}

func TestSetSigner(t *testing.T) {
	h := newHarness(t, Config{})
	next := newTestCA(t)
	h.srv.SetSigner(newTestSigner(t, next, pki.ECDSAP384))

	body := decodeToken(t, h.do(http.MethodGet, query([]string{"repository:public/a:pull"}), ""))
	if _, _, err := verifyToken(body.Token, next.Cert); err != nil {
		t.Errorf("token after SetSigner does not verify under the new CA: %v", err)
	}
}
