package harness

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

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/tokenserver"
	"github.com/regauth/regauth/users"
)

// The service and issuer that the token server and the registry agree on.
// A RegistryFunc configures its registry with them.
const (
	Service = "registry.test"
	Issuer  = "regauth-test"
)

// RegistryFunc returns the handler of one registry generation, configured
// the way regauth tells operators to: tokens from realm, for Service and
// from Issuer, verified against the CA in the PKI directory certDir. It
// registers its own cleanup with t.
type RegistryFunc func(t *testing.T, realm, certDir string) http.Handler

// Env is one token server and one registry that trusts it, each on its own
// HTTPS server on loopback, for the duration of one test.
type Env struct {
	ca       *pki.CA
	roots    *x509.CertPool // the CA alone: what clients and the registry trust
	tokens   *tokenserver.Server
	realm    string // the token endpoint URL
	registry name.Registry
	// transport reaches both servers; it trusts the CA and no proxy.
	transport *http.Transport
}

// NewEnv starts a token server and the registry newRegistry returns, and
// stops both when the test ends.
func NewEnv(t *testing.T, newRegistry RegistryFunc) *Env {
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
	e := &Env{ca: ca, roots: x509.NewCertPool()}
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
// users file holding the test accounts, and Rules.
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
	for _, a := range []Account{Admin, Alice, Bob, Carol} {
		acct, err := users.NewAccount(a.Name, a.Password, a.Teams, bcryptCost, time.Now())
		if err != nil {
			t.Fatalf("new account %s: %v", a.Name, err)
		}
		if err := store.Add(t.Context(), acct); err != nil {
			t.Fatalf("add account %s: %v", a.Name, err)
		}
	}
	auth, err := users.NewAuthenticator(store, bcryptCost)
	if err != nil {
		t.Fatalf("new authenticator: %v", err)
	}

	policy, warnings, err := acl.Parse([]byte(Rules))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("parse rules: %v, warnings %q", err, warnings)
	}

	cfg := tokenserver.Config{
		Service: Service,
		Issuer:  Issuer,
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

// FetchToken asks the token server for scopes with a's credentials, or
// anonymously when a is nil, and returns the token. Anything but a 200
// with a token fails the test.
func (e *Env) FetchToken(t *testing.T, a *Account, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {Service}, "scope": scopes}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
		e.realm+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a != nil {
		req.SetBasicAuth(a.Name, a.Password)
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

// RegistryGet sends a GET to the registry API path with a Bearer token and
// returns the status and the WWW-Authenticate challenge. Only a failure to
// get any answer fails the test.
func (e *Env) RegistryGet(t *testing.T, path, token string) (status int, challenge string) {
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
