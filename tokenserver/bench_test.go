package tokenserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/pki"
)

// BenchmarkSign signs an ES256 token with three access entries, about what
// a docker push asks.
func BenchmarkSign(b *testing.B) {
	s := newTestSigner(b, newTestCA(b), pki.ECDSAP256)
	claims := &Claims{
		Issuer:    testIssuer,
		Subject:   "alice",
		Audience:  testService,
		ExpiresAt: jwt.NewNumericDate(testNow.Add(5 * time.Minute)),
		NotBefore: jwt.NewNumericDate(testNow),
		IssuedAt:  jwt.NewNumericDate(testNow),
		ID:        "bench-token-id",
		Access: []Access{
			{Type: "repository", Name: "dev/app", Actions: []string{"pull", "push"}},
			{Type: "repository", Name: "dev/base", Actions: []string{"pull"}},
			{Type: "registry", Name: "catalog", Actions: []string{"*"}},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeAnonymous runs an anonymous pull through the whole handler:
// parsing, deciding, signing, the JSON answer and the audit record.
func BenchmarkServeAnonymous(b *testing.B) {
	h := newHarness(b, Config{})
	raw := query([]string{"repository:public/app:pull"})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/token", nil)
		r.URL.RawQuery = raw
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		h.logs.Reset()
	}
}
