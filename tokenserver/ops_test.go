package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured", "192.0.2.7:1234", []string{"203.0.113.9"}, nil, "192.0.2.7"},
		{"untrusted peer's header is ignored", "192.0.2.7:1234", []string{"203.0.113.9"}, proxies, "192.0.2.7"},
		{"trusted proxy names the client", "10.0.0.2:1234", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"client-written hops are skipped", "10.0.0.2:1234", []string{"198.51.100.1, 203.0.113.9"}, proxies,
			"203.0.113.9"},
		{"two proxies in a row", "10.0.0.2:1234", []string{"203.0.113.9, 10.0.0.3"}, proxies, "203.0.113.9"},
		{"header split over two lines", "10.0.0.2:1234", []string{"203.0.113.9", "10.0.0.3"}, proxies,
			"203.0.113.9"},
		{"garbage stops the walk", "10.0.0.2:1234", []string{"203.0.113.9, junk"}, proxies, "10.0.0.2"},
		{"only proxies", "10.0.0.2:1234", []string{"10.0.0.3"}, proxies, "10.0.0.3"},
		{"no header from a proxy", "10.0.0.2:1234", nil, proxies, "10.0.0.2"},
		{"IPv6 loopback proxy", "[::1]:1234", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/token", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, tt.trusted); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	storeDown := errors.New("dial tcp 127.0.0.1:6379: connection refused")
	tests := []struct {
		name string
		ping func(context.Context) error
		want int
	}{
		{"no store to ping", nil, http.StatusOK},
		{"store answers", func(context.Context) error { return nil }, http.StatusOK},
		{"store down", func(context.Context) error { return storeDown }, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Ping: tt.ping})
			w := httptest.NewRecorder()
			h.srv.Readyz(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tt.want {
				t.Errorf("readyz = %d, want %d", w.Code, tt.want)
			}
			w = httptest.NewRecorder()
			h.srv.Healthz(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if w.Code != http.StatusOK {
				t.Errorf("healthz = %d while alive", w.Code)
			}
			if strings.Contains(w.Body.String()+h.logs.String(), "127.0.0.1:6379") && tt.ping == nil {
				t.Error("unexpected store detail")
			}
		})
	}
}

func TestMetricsAfterTraffic(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, Config{Metrics: NewMetrics(reg)})
	h.do(http.MethodGet, query([]string{"repository:public/app:pull"}), "")
	h.do(http.MethodGet, query([]string{"repository:dev/app:pull"}), basicHeader("alice", "alice-pw:with:colons"))
	h.do(http.MethodGet, query(nil), basicHeader("alice", "wrong"))
	h.do(http.MethodGet, "scope=nonsense", "")
	h.srv.cfg.Metrics.SetCertificateExpiry("tls", testNow.AddDate(0, 0, 10))

	for _, c := range []struct {
		metric prometheus.Collector
		labels []string
		want   float64
	}{
		{h.srv.cfg.Metrics.requests, []string{"granted", "anonymous"}, 1},
		{h.srv.cfg.Metrics.requests, []string{"granted", "basic"}, 1},
		{h.srv.cfg.Metrics.requests, []string{"invalid_grant", "basic"}, 1},
		{h.srv.cfg.Metrics.requests, []string{"invalid_request", "anonymous"}, 1},
		{h.srv.cfg.Metrics.passwordChecks, []string{"ok"}, 1},
		{h.srv.cfg.Metrics.passwordChecks, []string{"bad"}, 1},
	} {
		vec := c.metric.(*prometheus.CounterVec)
		if got := testutil.ToFloat64(vec.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("%v = %v, want %v", c.labels, got, c.want)
		}
	}

	n, err := testutil.GatherAndCount(reg, "regauth_token_request_duration_seconds",
		"regauth_password_check_duration_seconds", "regauth_certificate_days_left")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // two latency series (anonymous, basic), one password, one certificate
		t.Errorf("gathered %d series, want 4", n)
	}
}

func TestJWKSMatchesTokens(t *testing.T) {
	h := newHarness(t, Config{})
	w := httptest.NewRecorder()
	h.srv.ServeJWKS(w, httptest.NewRequest(http.MethodGet, "/jwks.json", nil))
	var set struct {
		Keys []struct {
			Kid string   `json:"kid"`
			Alg string   `json:"alg"`
			Kty string   `json:"kty"`
			X5c []string `json:"x5c"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatalf("jwks: %v: %s", err, w.Body)
	}
	if len(set.Keys) != 1 || set.Keys[0].Alg != "ES256" || set.Keys[0].Kty != "EC" || len(set.Keys[0].X5c) == 0 {
		t.Fatalf("jwks = %+v", set)
	}

	tok := decodeToken(t, h.do(http.MethodGet, query(nil), ""))
	_, parsed, err := verifyToken(tok.Token, h.ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if kid := parsed.Header["kid"]; kid != set.Keys[0].Kid {
		t.Errorf("token kid %v, JWKS kid %q", kid, set.Keys[0].Kid)
	}
}

// TestClientTextStaysOutOfLabels sends grant types a client made up: the
// metrics must not grow a series per value, nor the log keep them.
func TestClientTextStaysOutOfLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, Config{Metrics: NewMetrics(reg)})
	for i := range 20 {
		body := fmt.Sprintf("grant_type=made-up-%d&client_id=x", i)
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("made-up grant: %d", w.Code)
		}
	}
	n, err := testutil.GatherAndCount(reg, "regauth_token_requests_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d request series after 20 made-up grant types, want 1", n)
	}
	if strings.Contains(h.logs.String(), "made-up") {
		t.Error("the audit log repeats a made-up grant type")
	}
}

// TestNoRefreshTokenForHead checks that a HEAD login, whose answer has no
// body, stores no refresh token nobody could ever use or see.
func TestNoRefreshTokenForHead(t *testing.T) {
	refresher := newFakeRefresher()
	h := newHarness(t, Config{Refresher: refresher})
	alice := basicHeader("alice", "alice-pw:with:colons")
	h.do(http.MethodHead, query(nil, "offline_token=true", "client_id=docker"), alice)
	if len(refresher.grants) != 0 {
		t.Fatalf("HEAD stored %d refresh tokens", len(refresher.grants))
	}
	h.do(http.MethodGet, query(nil, "offline_token=true", "client_id=docker"), alice)
	if len(refresher.grants) != 1 {
		t.Fatalf("GET stored %d refresh tokens, want 1", len(refresher.grants))
	}
}

// TestInvalidNamesCostNothing refuses names no account can have without
// asking the store, so that they never reach bcrypt or the counters.
func TestInvalidNamesCostNothing(t *testing.T) {
	h := newHarness(t, Config{})
	h.accounts.err = errors.New("the store must not be asked")
	for _, name := range []string{strings.Repeat("x", 500), "a b", "\x00"} {
		w := h.do(http.MethodGet, query(nil), basicHeader(name, "pw"))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("name %.10q: %d, want 401", name, w.Code)
		}
	}
	if strings.Contains(h.logs.String(), strings.Repeat("x", 100)) {
		t.Error("the audit log holds a long name whole")
	}
}
