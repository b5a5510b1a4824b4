package tokenserver

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-jose/go-jose/v4"
)

// KeyID returns the RFC 7638 thumbprint of the signer's public key, the
// kid its tokens carry and its JWK is listed under.
func (s *Signer) KeyID() string { return s.kid }

func thumbprint(pub crypto.PublicKey) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// JWKS returns the JSON Web Key Set of the signer's public key, with its
// certificate chain, for registry:3's jwks option and other verifiers.
func (s *Signer) JWKS() ([]byte, error) {
	key := jose.JSONWebKey{
		Key:          s.kp.Key.Public(),
		KeyID:        s.kid,
		Algorithm:    s.method.Alg(),
		Use:          "sig",
		Certificates: s.kp.Chain,
	}
	return json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}}, "", "  ")
}

// ServeJWKS serves the current signer's JWKS.
func (s *Server) ServeJWKS(w http.ResponseWriter, _ *http.Request) {
	data, err := s.signer.Load().JWKS()
	if err != nil {
		s.cfg.Logger.Error("jwks", "err", err)
		http.Error(w, "jwks unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(data)
}
