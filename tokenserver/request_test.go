package tokenserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest sends random queries, form bodies and Authorization
// headers through the whole handler. Whatever a client sends, the answer is
// a token, a 400 or a 401, never a 500 or a panic, and it is JSON.
func FuzzTokenRequest(f *testing.F) {
	alice := basicHeader("alice", "alice-pw:with:colons")
	seeds := []struct {
		raw  string
		auth string
		post bool
	}{
		{query([]string{"repository:public/app:pull"}), "", false},
		{query([]string{"repository:dev/app:pull,push"}, "account=alice"), alice, false},
		{query(nil, "account=alice", "client_id=docker", "offline_token=true"), alice, false},
		{"scope=registry:catalog:*&scope=repository:a:pull%20repository:a:push", "", false},
		{"service=other&scope=%zz", "Basic !!", false},
		{"scope=repository(plugin):x/y:pull&account=bob", basicHeader("bob", "nope"), false},
		{"grant_type=password&client_id=c&username=alice&password=alice-pw:with:colons" +
			"&scope=repository:dev/app:pull", "", true},
		{"grant_type=refresh_token&client_id=c&refresh_token=abc", "", true},
		{"grant_type=client_credentials", "", true},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.auth, s.post)
	}
	h := newHarness(f, Config{})
	f.Fuzz(func(t *testing.T, raw, auth string, post bool) {
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, "/token", nil)
			r.URL.RawQuery = raw
		}
		r.Header["Authorization"] = []string{auth}
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)

		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d for %q (post %v, auth %q); body %s", w.Code, raw, post, auth, w.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("body is not JSON: %v: %s", err, w.Body)
		}
		if w.Code == http.StatusOK {
			if tok, _ := body["token"].(string); tok == "" {
				t.Fatalf("200 without a token: %s", w.Body)
			}
		}
		h.logs.Reset() // keep memory flat over a long run
	})
}
