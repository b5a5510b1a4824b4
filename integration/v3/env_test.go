package v3_test

// This file builds the world the tests run in: a PKI, accounts, rules, the
// token server and the registry, each on its own HTTPS server on loopback.
// It is the same in the registry:2 and registry:3 tests, as is
// flow_test.go; registry_test.go holds what differs.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/tokenserver"
	"github.com/regauth/regauth/users"
)

// The service and issuer that the token server and the registry agree on.
const (
	service = "registry.test"
	issuer  = "regauth-test"
)

// bcryptCost is the lowest cost bcrypt accepts, so that logins stay cheap.
const bcryptCost = 4

// account is a test user whose password the client knows.
type account struct {
	name, password string
	teams          []string
}

var (
	admin = account{name: "admin", password: "admin-password"}
	alice = account{name: "alice", password: "alice-password"}
	bob   = account{name: "bob", password: "bob-password"}
	carol = account{name: "carol", password: "carol-password", teams: []string{"dev"}}
)

// rules is the policy under test. Every account owns its namespace; bob
// may also read alice's; the dev team writes dev/** except dev/frozen/**;
// anyone, logged in or not, reads public/**; only admin lists the catalog.
const rules = `
rules:
  - accounts: [admin]
    repositories: ["**"]
    actions: ["*"]
    catalog: true
  - accounts: ["*"]
    repositories: ["${account}/**"]
    actions: [pull, push]
  - accounts: [bob]
    repositories: ["alice/**"]
    actions: [pull]
  - teams: [dev]
    repositories: ["dev/**"]
    actions: [pull, push]
  - teams: [dev]
    repositories: ["dev/frozen/**"]
    actions: [push, delete]
    deny: true
  - anonymous: true
    repositories: ["public/**"]
    actions: [pull]
`

// env is one token server and one registry that trusts it.
type env struct {
	ca       *pki.CA
	roots    *x509.CertPool // the CA alone: what clients and the registry trust
	tokens   *tokenserver.Server
	realm    string // the token endpoint URL
	registry name.Registry
	// transport reaches both servers; it trusts the CA and no proxy.
	transport *http.Transport
}

// newEnv starts a token server and a registry configured the way regauth
// tells operators to configure theirs.
func newEnv(t *testing.T) *env {
	t.Helper()
	layout := pki.Layout{Dir: t.TempDir()}
	err := layout.Init(pki.InitOptions{Hosts: []string{"127.0.0.1", "localhost"}})
	if err != nil {
		t.Fatalf("init pki: %v", err)
	}
	ca, err := pki.LoadCA(layout.Path(pki.CACertFile), layout.Path(pki.CAKeyFile))
	if err != nil {
		t.Fatalf("load ca: %v", err)
	}
	serverCert, err := tls.LoadX509KeyPair(layout.Path(pki.ServerCertFile),
		layout.Path(pki.ServerKeyFile))
	if err != nil {
		t.Fatalf("load server certificate: %v", err)
	}
	e := &env{ca: ca, roots: x509.NewCertPool()}
	e.roots.AddCert(ca.Cert)
	e.transport = newTransport(t, e.roots)

	mux := http.NewServeMux()
	e.tokens = newTokenServer(t, layout)
	mux.Handle("/token", e.tokens)
	tokenURL, _ := url.Parse(serveTLS(t, mux, serverCert).URL)
	// NOTE(integration): the realm names localhost, not 127.0.0.1:
	// go-containerregistry refuses a realm on a loopback or private IP
	// literal unless it is the registry's own host and port, to keep a
	// hostile registry from sending credentials to internal services.
	e.realm = "https://localhost:" + tokenURL.Port() + "/token"

	registryURL := serveTLS(t, newRegistry(t, e.realm, layout.Dir), serverCert).URL
	e.registry, err = name.NewRegistry(strings.TrimPrefix(registryURL, "https://"))
	if err != nil {
		t.Fatalf("registry name: %v", err)
	}
	return e
}

// newTokenServer wires the token server from the signing key in layout, a
// users file holding the test accounts, and rules.
func newTokenServer(t *testing.T, layout pki.Layout) *tokenserver.Server {
	t.Helper()
	kp, err := pki.LoadKeyPair(layout.Path(pki.SigningCertFile), layout.Path(pki.SigningKeyFile))
	if err != nil {
		t.Fatalf("load signing key: %v", err)
	}
	signer, err := tokenserver.NewSigner(kp)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}

	store, err := users.OpenFile(filepath.Join(t.TempDir(), "users.yaml"))
	if err != nil {
		t.Fatalf("open users file: %v", err)
	}
	for _, a := range []account{admin, alice, bob, carol} {
		acct, err := users.NewAccount(a.name, a.password, a.teams, bcryptCost, time.Now())
		if err != nil {
			t.Fatalf("new account %s: %v", a.name, err)
		}
		if err := store.Add(t.Context(), acct); err != nil {
			t.Fatalf("add account %s: %v", a.name, err)
		}
	}
	auth, err := users.NewAuthenticator(store, bcryptCost)
	if err != nil {
		t.Fatalf("new authenticator: %v", err)
	}

	policy, warnings, err := acl.Parse([]byte(rules))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("parse rules: %v, warnings %q", err, warnings)
	}

	cfg := tokenserver.Config{
		Service: service,
		Issuer:  issuer,
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	return tokenserver.New(cfg, signer, auth, func() *acl.Policy { return policy })
}

// serveTLS serves h over HTTPS on loopback with cert until the test ends.
func serveTLS(t *testing.T, h http.Handler, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// newTransport returns a transport that trusts roots only and never goes
// through a proxy, whatever the environment says: the tests talk to
// loopback and nothing else.
func newTransport(t *testing.T, roots *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
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

// fetchToken asks the token server for scopes with a's credentials, or
// anonymously when a is nil, and returns the token.
func (e *env) fetchToken(t *testing.T, a *account, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {service}, "scope": scopes}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.realm+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a != nil {
		req.SetBasicAuth(a.name, a.password)
	}
	resp, err := e.transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()

	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: status %d: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || body.Token == "" {
		t.Fatalf("token response: status %d, token %t", resp.StatusCode, body.Token != "")
	}
	return body.Token
}

// registryGet sends a GET to the registry API path with a Bearer token and
// returns the status and the WWW-Authenticate challenge.
func (e *env) registryGet(t *testing.T, path, token string) (status int, challenge string) {
	t.Helper()
	u := "https://" + e.registry.RegistryStr() + path
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// claims returns valid claims for the registry granting access, as the
// token server would write them.
func claims(subject string, access ...tokenserver.Access) *tokenserver.Claims {
	now := time.Now().Truncate(time.Second)
	return &tokenserver.Claims{
		Issuer:    issuer,
		Subject:   subject,
		Audience:  service,
		ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        "test-" + subject,
		Access:    access,
	}
}
