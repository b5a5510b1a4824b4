package tokenserver

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Healthz answers 200 while the process serves requests at all.
func (s *Server) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Readyz answers 200 when the server can issue tokens: its signing
// certificate is valid now and the account store answers; 503 otherwise,
// so that a load balancer sends requests elsewhere.
func (s *Server) Readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Ready(r.Context()); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Ready returns why the server cannot issue tokens, or nil.
func (s *Server) Ready(ctx context.Context) error {
	signer := s.signer.Load()
	if signer == nil {
		return errors.New("no signing key")
	}
	if leaf := signer.KeyPair().Leaf(); s.cfg.Now().After(leaf.NotAfter) {
		return errors.New("signing certificate expired")
	}
	if s.cfg.Ping == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.cfg.Ping(ctx)
}
