package deploy_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regauth/regauth/internal/testredis"
	"github.com/regauth/regauth/registryconf"
	"github.com/regauth/regauth/registryconf/embedded"
)

// The addresses of TestNginxInFront. The client connects from 127.0.0.2,
// so that the address it has differs from nginx's (127.0.0.1), which is the
// peer the token servers see and trust.
var (
	clientIP  = net.IPv4(127, 0, 0, 2)
	spoofedIP = "203.0.113.9" // what a client writes in X-Forwarded-For
)

const (
	testAccount  = "alice"
	testPassword = "correct horse battery staple"
	testRepo     = "alice/app"
)

// frontEnd is the compose-ha deployment on loopback: nginx with the
// deployment's nginx.conf before two token servers and a registry.
type frontEnd struct {
	base    string // https://127.0.0.1:PORT, nginx
	servers [2]*process
	addrs   [2]string
	client  *http.Client // trusts the deployment CA, connects from clientIP
	store   string
	// trusted is set when the config has trusted_proxies, so that the
	// token servers take the client address from nginx's header.
	trusted bool
}

// TestNginxInFront runs deploy/compose-ha/nginx.conf in a real nginx in
// front of two "regauth serve --insecure-http" processes sharing one
// store, and a registry: a login and refresh grants through nginx must
// reach both servers, be logged with the address the client connected
// from (not one it wrote in X-Forwarded-For), and the tokens must push an
// image through nginx's /v2/ with a layer larger than nginx's default body
// limit, streamed in chunks.
func TestNginxInFront(t *testing.T) {
	nginxBin := requireTool(t, "nginx", "nginx-light")
	t.Setenv("OTEL_TRACES_EXPORTER", "none") // the embedded registry's tracing
	fe := startFrontEnd(t, nginxBin)

	refresh := login(t, fe)
	access := refreshGrant(t, fe, refresh, "repository:"+testRepo+":pull,push")
	checkBothServersAudited(t, fe, refresh)
	checkDirectPeerNotTrusted(t, fe)
	pushThroughNginx(t, fe, access)
}

func startFrontEnd(t *testing.T, nginxBin string) *frontEnd {
	t.Helper()
	work := t.TempDir()
	proxyAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	fe := &frontEnd{base: "https://" + proxyAddr}

	// 1. The deployment, with the realm at nginx.
	data := initDeployment(t, "--host", "127.0.0.1", "--realm", fe.base+"/token")
	config := filepath.Join(data, "config.yaml")
	cfgText, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	fe.trusted = strings.Contains(string(cfgText), "trusted_proxies")
	if !fe.trusted {
		t.Log("config.yaml has no trusted_proxies: the X-Forwarded-For checks are left out")
	}

	// 2. One store for both servers, as in compose-ha.
	fe.store = "file"
	if testredis.Installed() {
		fe.store = "redis://" + testredis.Start(t, testredis.Options{}).Addr() + "/0"
	} else {
		t.Log("redis-server is not installed (Debian package redis-server): " +
			"the token servers share the users and tokens files instead of Redis")
	}
	env := []string{"REGAUTH_STORE=" + fe.store, "REGAUTH_LOG_FORMAT=json",
		"REGAUTH_TRUSTED_PROXIES=127.0.0.1/32"}
	runRegauth(t, env, testPassword+"\n",
		"user", "add", testAccount, "--password-stdin", "--config", config)
	checkAccountInStore(t, fe.store)

	// 3. The token servers, plain HTTP like behind nginx in compose-ha.
	bin := regauthBinary(t)
	for i := range fe.servers {
		fe.addrs[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		fe.servers[i] = startProcess(t, work, fmt.Sprintf("regauth-%d", i+1), env, bin,
			"serve", "--config", config, "--insecure-http", "--addr", fe.addrs[i])
	}
	for i, p := range fe.servers {
		waitUntil(t, p, 30*time.Second, p.name+" /healthz", func() bool {
			return statusOf(http.DefaultClient, "http://"+fe.addrs[i]+"/healthz") == http.StatusOK
		})
	}

	// 4. The registry, plain HTTP behind nginx, trusting the deployment CA.
	registryAddr := startRegistry(t, fe.base+"/token", filepath.Join(data, "pki"), work)

	// 5. nginx with the deployment's server certificate.
	prefix := filepath.Join(work, "nginx")
	if err := os.Mkdir(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := renderNginx(t, nginxRun{
		prefix: prefix,
		listen: proxyAddr,
		cert:   filepath.Join(data, "pki", "server.crt"),
		key:    filepath.Join(data, "pki", "server.key"),
		upstreams: map[string]string{
			"regauth-1:5001": fe.addrs[0],
			"regauth-2:5001": fe.addrs[1],
			"registry:5000":  registryAddr,
		},
	})
	globals := "daemon off;"
	if os.Geteuid() == 0 {
		globals += " user root;" // the workers need no other user here
	}
	ng := startProcess(t, work, "nginx", nil, nginxBin, "-p", prefix+"/", "-c", conf, "-g", globals)

	fe.client = clientTrusting(t, filepath.Join(data, "pki", "ca.crt"), clientIP)
	local := clientTrusting(t, filepath.Join(data, "pki", "ca.crt"), nil)
	waitUntil(t, ng, 30*time.Second, "nginx /nginx-healthz", func() bool {
		return statusOf(local, fe.base+"/nginx-healthz") == http.StatusOK
	})
	if got := statusOf(fe.client, fe.base+"/nginx-healthz"); got != http.StatusNotFound {
		t.Errorf("/nginx-healthz from %s: status %d, want 404 (loopback only)", clientIP, got)
	}
	return fe
}

// checkAccountInStore checks that REGAUTH_STORE took effect: the account
// the CLI added is in Redis (key layout of docs/redis.md). Otherwise each
// compose-ha token server would fall back to the users file.
func checkAccountInStore(t *testing.T, store string) {
	t.Helper()
	if store == "file" {
		return
	}
	u, err := url.Parse(store)
	if err != nil {
		t.Fatal(err)
	}
	got, err := redisCommand(u.Host, "EXISTS", "{regauth}:user:"+testAccount)
	if err != nil || got != ":1" {
		t.Errorf("after \"user add\" with REGAUTH_STORE=%s, Redis has no account %s "+
			"(EXISTS: %q, %v): the variable was not applied, and the servers use the "+
			"users file instead", store, testAccount, got, err)
	}
}

// startRegistry serves an embedded registry with the config regauth
// generates for compose-ha (plain HTTP) and returns its address.
func startRegistry(t *testing.T, realm, certDir, work string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := registryconf.Generate(registryconf.Options{
		Addr:    ln.Addr().String(),
		Realm:   realm,
		Service: "registry",
		Issuer:  "regauth",
		CertDir: certDir,
		DataDir: filepath.Join(work, "registry-data"),
		NoTLS:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := embedded.New(t.Context(), conf)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		_ = reg.Shutdown()
	})
	return ln.Addr().String()
}

// clientTrusting returns a client that trusts only the CA in caFile and,
// when from is set, connects from that address.
func clientTrusting(t *testing.T, caFile string, from net.IP) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if from != nil {
		dialer.LocalAddr = &net.TCPAddr{IP: from}
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:     dialer.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
		// A registry client follows no redirect blindly; neither do we.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// statusOf returns the status of a GET, or 0 when there is no answer.
func statusOf(c *http.Client, u string) int {
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	drain(resp)
	return resp.StatusCode
}

// drain reads and closes a body, so that the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// tokenResponse is the JSON of a token endpoint answer.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func decodeToken(t *testing.T, resp *http.Response, what string) tokenResponse {
	t.Helper()
	defer drain(resp)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d: %s", what, resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	return tr
}

// login is "docker login" through nginx: GET with Basic credentials and
// offline_token=true, with an X-Forwarded-For a client made up.
func login(t *testing.T, fe *frontEnd) string {
	t.Helper()
	q := url.Values{"service": {"registry"}, "client_id": {"docker"}, "offline_token": {"true"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fe.base+"/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testAccount, testPassword)
	req.Header.Set("X-Forwarded-For", spoofedIP)
	resp, err := fe.client.Do(req)
	if err != nil {
		t.Fatalf("login through nginx: %v", err)
	}
	tr := decodeToken(t, resp, "login through nginx")
	if tr.Token == "" || tr.RefreshToken == "" {
		t.Fatalf("login through nginx: token %t, refresh_token %t; want both",
			tr.Token != "", tr.RefreshToken != "")
	}
	return tr.RefreshToken
}

// refreshGrant is what the Docker daemon does after a login: POST with
// grant_type=refresh_token. With the file store the other server may not
// have reloaded the tokens file yet, so a 401 is retried there for a while.
func refreshGrant(t *testing.T, fe *frontEnd, refresh, scope string) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"service": {"registry"}, "client_id": {"docker"}, "scope": {scope},
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := fe.client.PostForm(fe.base+"/token", form)
		if err != nil {
			t.Fatalf("refresh grant through nginx: %v", err)
		}
		if resp.StatusCode == http.StatusUnauthorized && fe.store == "file" && time.Now().Before(deadline) {
			drain(resp)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		tr := decodeToken(t, resp, "refresh grant through nginx")
		if tr.AccessToken == "" {
			t.Fatal("refresh grant through nginx: no access_token")
		}
		return tr.AccessToken
	}
}

// checkBothServersAudited sends refresh grants until each token server
// has logged requests (at most 10 more: nginx alternates between them),
// then checks every audit record names the address the client connected
// from.
func checkBothServersAudited(t *testing.T, fe *frontEnd, refresh string) {
	t.Helper()
	both := func() bool {
		return len(auditRecords(t, fe.servers[0])) > 0 && len(auditRecords(t, fe.servers[1])) > 0
	}
	for i := 0; i < 10 && !both(); i++ {
		refreshGrant(t, fe, refresh, "repository:"+testRepo+":pull")
		time.Sleep(50 * time.Millisecond) // the record is written as the answer goes out
	}
	if !both() {
		t.Fatalf("after 12 requests through nginx, audit records: %s %d, %s %d; want both servers used",
			fe.servers[0].name, len(auditRecords(t, fe.servers[0])),
			fe.servers[1].name, len(auditRecords(t, fe.servers[1])))
	}
	if !fe.trusted {
		return
	}
	for _, p := range fe.servers {
		for _, rec := range auditRecords(t, p) {
			if got := rec["client_ip"]; got != clientIP.String() {
				t.Errorf("%s logged client_ip %v, want %s: the address the client connected "+
					"to nginx from (not nginx's, nor the %s it wrote itself)", p.name, got, clientIP, spoofedIP)
			}
		}
	}
}

// checkDirectPeerNotTrusted sends a request straight to a token server,
// bypassing nginx, from an address outside trusted_proxies: its
// X-Forwarded-For must be ignored.
func checkDirectPeerNotTrusted(t *testing.T, fe *frontEnd) {
	t.Helper()
	if !fe.trusted {
		return
	}
	direct := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: clientIP}, Timeout: 5 * time.Second,
		}).DialContext},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
		"http://"+fe.addrs[0]+"/token?service=registry", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", spoofedIP)
	before := len(auditRecords(t, fe.servers[0]))
	resp, err := direct.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	var recs []map[string]any
	waitUntil(t, fe.servers[0], 5*time.Second, "audit record of the direct request", func() bool {
		recs = auditRecords(t, fe.servers[0])
		return len(recs) > before
	})
	if got := recs[len(recs)-1]["client_ip"]; got != clientIP.String() {
		t.Errorf("a direct request from untrusted %s with X-Forwarded-For %s was logged as %v",
			clientIP, spoofedIP, got)
	}
}
