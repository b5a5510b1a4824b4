package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		running bool
		wantErr bool
	}{
		{"ready", http.StatusOK, true, false},
		{"not ready", http.StatusServiceUnavailable, true, true},
		{"not running", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newDeployment(t) // its certificate names registry.test and 127.0.0.1
			dir := filepath.Dir(cfg)
			cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "pki", "server.crt"),
				filepath.Join(dir, "pki", "server.key"))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/readyz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.StartTLS()
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			if !tt.running {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}

			t.Setenv("REGAUTH_ADDR", ":"+port)
			out, _, err := runCLI(t, "", "healthcheck", "--config", cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("healthcheck: %q, %v; want error %v", out, err, tt.wantErr)
			}
		})
	}
}
