package v3_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/integration/internal/harness"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/registryconf"
	"github.com/regauth/regauth/tokenserver"
)

// TestJWKSRegistry configures registry:3 with the JWKS of "regauth pki
// jwks" and no CA, the setup signing.x5c: false exists for. Tokens without
// x5c are accepted by their kid; tokens with x5c are refused, because the
// registry checks x5c first and has no CA to check it against.
func TestJWKSRegistry(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	layout := pki.Layout{Dir: t.TempDir()}
	if err := layout.Init(pki.InitOptions{Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	kp, err := pki.LoadKeyPair(layout.Path(pki.SigningCertFile), layout.Path(pki.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	bare, err := tokenserver.NewSigner(kp, tokenserver.WithoutChain())
	if err != nil {
		t.Fatal(err)
	}
	chained, err := tokenserver.NewSigner(kp)
	if err != nil {
		t.Fatal(err)
	}
	registry := jwksRegistry(t, bare, layout.Dir)

	tests := []struct {
		name   string
		signer *tokenserver.Signer
		want   int
	}{
		// 404: the token is good and the repository does not exist.
		{"kid only", bare, http.StatusNotFound},
		{"with x5c", chained, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			token, err := tt.signer.Sign(&tokenserver.Claims{
				Issuer: harness.Issuer, Subject: "alice", Audience: harness.Service,
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
				NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
				ID:     "jwks-test",
				Access: []tokenserver.Access{{Type: "repository", Name: "alice/app", Actions: []string{"pull"}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/v2/alice/app/tags/list", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			registry.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Fatalf("registry answered %d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
}

// jwksRegistry starts registry:3 trusting the JWKS of signer and no CA.
func jwksRegistry(t *testing.T, signer *tokenserver.Signer, certDir string) http.Handler {
	t.Helper()
	jwks, err := signer.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := registryconf.Generate(registryconf.Options{
		Realm: "https://127.0.0.1/token", Service: harness.Service, Issuer: harness.Issuer,
		CertDir: certDir, DataDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	delete(cfg.Auth["token"], "rootcertbundle")
	cfg.Auth["token"]["jwks"] = jwksFile
	return startRegistry(t, cfg)
}
