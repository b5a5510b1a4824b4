package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/regauth/regauth/users"
)

// fakeRefresher keeps issued refresh tokens in memory. Like the real one,
// a token is bound to its service and client and survives reuse.
type fakeRefresher struct {
	grants map[string]fakeGrant // raw token → what it was issued for
	err    error                // when set, every call fails with it
}

type fakeGrant struct {
	id, service, clientID string
	acct                  users.Account
}

func newFakeRefresher() *fakeRefresher {
	return &fakeRefresher{grants: map[string]fakeGrant{}}
}

func (f *fakeRefresher) Issue(_ context.Context, acct users.Account, service, clientID string) (
	string, users.RefreshToken, error) {
	if f.err != nil {
		return "", users.RefreshToken{}, f.err
	}
	id := fmt.Sprintf("rt%d", len(f.grants)+1)
	raw := id + ".refresh-secret-of-" + acct.Name
	f.grants[raw] = fakeGrant{id: id, service: service, clientID: clientID, acct: acct}
	rec := users.RefreshToken{ID: id, Account: acct.Name, Service: service, ClientID: clientID}
	return raw, rec, nil
}

func (f *fakeRefresher) Check(_ context.Context, raw, service, clientID string) (
	users.Account, users.RefreshToken, error) {
	if f.err != nil {
		return users.Account{}, users.RefreshToken{}, f.err
	}
	g, ok := f.grants[raw]
	if !ok || g.service != service || g.clientID != clientID {
		return users.Account{}, users.RefreshToken{}, fmt.Errorf("%w: unknown", users.ErrInvalidToken)
	}
	return g.acct, users.RefreshToken{ID: g.id, Account: g.acct.Name}, nil
}

// post sends form as an OAuth 2 token request.
func (h *harness) post(form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.7:41234"
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// oauthBody is the part of an OAuth 2 answer the tests look at.
type oauthBody struct {
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func decodeOAuth(t *testing.T, w *httptest.ResponseRecorder) oauthBody {
	t.Helper()
	var b oauthBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	return b
}

func passwordForm(user, password string, extra ...string) url.Values {
	f := url.Values{
		"grant_type": {"password"}, "client_id": {"containerd"}, "service": {testService},
		"username": {user}, "password": {password},
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		f.Set(k, v)
	}
	return f
}

func TestOAuthPasswordGrant(t *testing.T) {
	tests := []struct {
		name        string
		form        url.Values
		wantStatus  int
		wantError   string
		wantScope   string
		wantRefresh bool
	}{
		{
			name: "scopes in one field",
			form: passwordForm("alice", "alice-pw:with:colons",
				"scope=repository:dev/app:pull,push,delete repository:secret/x:pull"),
			wantStatus: http.StatusOK,
			wantScope:  "repository:dev/app:pull,push",
		},
		{
			name:       "catalog answers a star",
			form:       passwordForm("admin", "admin-pw", "scope=registry:catalog:*"),
			wantStatus: http.StatusOK,
			wantScope:  "registry:catalog:*",
		},
		{
			name:        "offline access gets a refresh token",
			form:        passwordForm("alice", "alice-pw:with:colons", "access_type=offline"),
			wantStatus:  http.StatusOK,
			wantRefresh: true,
		},
		{
			name:       "wrong password",
			form:       passwordForm("alice", "nope"),
			wantStatus: http.StatusUnauthorized,
			wantError:  "invalid_grant",
		},
		{
			name:       "no user name",
			form:       passwordForm("", "pw"),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_request",
		},
		{
			name:       "no client id",
			form:       passwordForm("alice", "alice-pw:with:colons", "client_id="),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_request",
		},
		{
			name:       "unsupported grant",
			form:       passwordForm("alice", "alice-pw:with:colons", "grant_type=client_credentials"),
			wantStatus: http.StatusBadRequest,
			wantError:  "unsupported_grant_type",
		},
		{
			name:       "wrong service",
			form:       passwordForm("alice", "alice-pw:with:colons", "service=elsewhere"),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_request",
		},
		{
			name:       "bad scope",
			form:       passwordForm("alice", "alice-pw:with:colons", "scope=repository:Dev:pull"),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Refresher: newFakeRefresher()})
			w := h.post(tt.form)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			b := decodeOAuth(t, w)
			if b.Error != tt.wantError {
				t.Errorf("error %q, want %q", b.Error, tt.wantError)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			mustVerify(t, b.AccessToken, h.ca.Cert)
			if b.Scope != tt.wantScope {
				t.Errorf("scope %q, want %q", b.Scope, tt.wantScope)
			}
			if (b.RefreshToken != "") != tt.wantRefresh {
				t.Errorf("refresh_token %q, want one: %v", b.RefreshToken, tt.wantRefresh)
			}
			if pw := tt.form.Get("password"); strings.Contains(h.logs.String(), pw) {
				t.Errorf("log holds the password:\n%s", h.logs)
			}
		})
	}
}

// TestRefreshFlow follows docker: a GET login with offline_token=true,
// then the refresh token alone, again and again.
func TestRefreshFlow(t *testing.T) {
	h := newHarness(t, Config{Refresher: newFakeRefresher()})
	login := h.do(http.MethodGet,
		query(nil, "account=alice", "client_id=docker", "offline_token=true"),
		basicHeader("alice", "alice-pw:with:colons"))
	decodeToken(t, login)
	refresh := decodeOAuth(t, login).RefreshToken
	if refresh == "" {
		t.Fatalf("login with offline_token=true got no refresh_token: %s", login.Body)
	}

	form := url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"docker"}, "service": {testService},
		"refresh_token": {refresh}, "scope": {"repository:dev/app:pull,push"},
	}
	for i := range 3 {
		w := h.post(form)
		if w.Code != http.StatusOK {
			t.Fatalf("refresh %d: status %d; body %s", i, w.Code, w.Body)
		}
		b := decodeOAuth(t, w)
		if b.RefreshToken != "" {
			t.Errorf("refresh %d rotated the refresh token; docker keeps the first", i)
		}
		claims := mustVerify(t, b.AccessToken, h.ca.Cert)
		if claims.Subject != "alice" || b.Scope != "repository:dev/app:pull,push" {
			t.Errorf("refresh %d: sub %q, scope %q; want alice with dev/app pull,push",
				i, claims.Subject, b.Scope)
		}
	}
	if strings.Contains(h.logs.String(), refresh) {
		t.Errorf("log holds the refresh token:\n%s", h.logs)
	}

	anon := h.do(http.MethodGet, query(nil, "offline_token=true"), "")
	if b := decodeOAuth(t, anon); b.RefreshToken != "" {
		t.Errorf("anonymous request got a refresh token")
	}
}

func TestRefreshErrors(t *testing.T) {
	form := func(token, client string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {client},
			"service": {testService}, "refresh_token": {token}}
	}
	tests := []struct {
		name       string
		refresher  *fakeRefresher
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"unknown token", newFakeRefresher(), form("rt9.nope", "docker"),
			http.StatusUnauthorized, "invalid_grant"},
		{"no token", newFakeRefresher(), form("", "docker"),
			http.StatusBadRequest, "invalid_request"},
		{"store down", &fakeRefresher{err: errors.New("redis: connection refused")},
			form("rt1.x", "docker"), http.StatusServiceUnavailable, "temporarily_unavailable"},
		{"refresh tokens off", nil, form("rt1.x", "docker"),
			http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.refresher != nil {
				cfg.Refresher = tt.refresher
			}
			h := newHarness(t, cfg)
			w := h.post(tt.form)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if b := decodeOAuth(t, w); b.Error != tt.wantError || b.AccessToken != "" {
				t.Errorf("body %s, want error %q and no token", w.Body, tt.wantError)
			}
		})
	}
}

func TestOAuthMalformed(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"JSON body", "application/json", `{"grant_type":"password"}`},
		{"no content type", "", "grant_type=password"},
		{"bad escape", "application/x-www-form-urlencoded", "grant_type=%zz"},
		{"body too large", "application/x-www-form-urlencoded",
			"client_id=c&grant_type=password&username=a&x=" + strings.Repeat("a", maxFormLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", w.Code, w.Body)
			}
		})
	}
}
