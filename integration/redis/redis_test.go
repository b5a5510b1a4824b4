package redis_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/internal/testredis"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/throttle"
	"github.com/regauth/regauth/tokenserver"
	"github.com/regauth/regauth/users"
)

const (
	service = "registry"
	rules   = `
rules:
  - teams: ["*"]
    repositories: ["${team}/**"]
    actions: [pull, push]
`
	// within is how long a change may take to reach the other server. The
	// Redis store caches nothing, so it is the next request in practice.
	within = time.Second
)

// tokenServer is one regauth token server with its own Redis client, as a
// separate process would have.
type tokenServer struct {
	url   string
	store *users.Redis
	ts    *tokenserver.Server
}

func newTokenServer(t *testing.T, redisAddr string, kp *pki.KeyPair, cert tls.Certificate) *tokenServer {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: redisAddr, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	store := users.NewRedis(client)
	auth, err := users.NewAuthenticator(store, 4)
	if err != nil {
		t.Fatal(err)
	}
	auth.EnableCache(100, time.Minute)
	signer, err := tokenserver.NewSigner(kp)
	if err != nil {
		t.Fatal(err)
	}
	policy, _, err := acl.Parse([]byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	ts := tokenserver.New(tokenserver.Config{
		Service: service,
		Issuer:  "regauth",
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
		Limiter: throttle.New(throttle.Policy{Window: time.Minute, AccountLimit: 3, AddressLimit: 100},
			throttle.NewRedis(client)),
		Refresher: &users.Refresher{Accounts: store, Tokens: store},
		Ping:      func(ctx context.Context) error { return client.Ping(ctx).Err() },
	}, signer, auth, func() *acl.Policy { return policy })

	mux := http.NewServeMux()
	mux.Handle("/token", ts)
	mux.HandleFunc("/readyz", ts.Readyz)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &tokenServer{url: srv.URL, store: store, ts: ts}
}

// env is one Redis and two token servers, a and b, sharing it.
type env struct {
	redis  *testredis.Server
	a, b   *tokenServer
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	layout := pki.Layout{Dir: t.TempDir()}
	if err := layout.Init(pki.InitOptions{Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	kp, err := pki.LoadKeyPair(layout.Path(pki.SigningCertFile), layout.Path(pki.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(layout.Path(pki.ServerCertFile), layout.Path(pki.ServerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	caCerts, err := pki.LoadCertificates(layout.Path(pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCerts[0])

	// Append-only, so that a restart keeps the accounts.
	rs := testredis.Start(t, testredis.Options{Dir: t.TempDir()})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{
		redis:  rs,
		a:      newTokenServer(t, rs.Addr(), kp, cert),
		b:      newTokenServer(t, rs.Addr(), kp, cert),
		client: &http.Client{Transport: tr, Timeout: 5 * time.Second},
	}
}

// result is what a token request came back with.
type result struct {
	status  int
	granted []string
	refresh string
}

// login asks srv for a token on scope with Basic credentials, or
// anonymously when user is empty.
func (e *env) login(t *testing.T, srv *tokenServer, user, password, scope string) result {
	t.Helper()
	q := url.Values{"service": {service}, "scope": {scope}, "offline_token": {"true"}, "client_id": {"test"}}
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return e.do(t, req)
}

func (e *env) refresh(t *testing.T, srv *tokenServer, rt, scope string) result {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"test"},
		"service": {service}, "scope": {scope}}
	resp, err := e.client.PostForm(srv.url+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func (e *env) do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
	}
	r := result{status: resp.StatusCode, refresh: body.RefreshToken}
	if body.Token != "" {
		r.granted = grantedActions(t, body.Token)
	}
	return r
}

// grantedActions returns the actions of a token's access claim, unverified:
// the signature is the registry's business, tested elsewhere.
func grantedActions(t *testing.T, token string) []string {
	t.Helper()
	var claims tokenserver.Claims
	if err := decodePayload(token, &claims); err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var out []string
	for _, a := range claims.Access {
		out = append(out, a.Actions...)
	}
	return out
}

// eventually polls check until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantStatus(r result, status int) error {
	if r.status != status {
		return fmt.Errorf("status %d, want %d", r.status, status)
	}
	return nil
}
