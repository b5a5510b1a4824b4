package tokenserver

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/pki"
)

// Signer signs registry tokens with one key and carries its certificate
// chain in every token's x5c header.
type Signer struct {
	kp     *pki.KeyPair
	method jwt.SigningMethod
	x5c    []string
	kid    string
	// header is the encoded JOSE header, the same for every token. It
	// holds the certificate chain, so encoding it once instead of per
	// token saves a JSON encoding and a base64 pass over about a kilobyte
	// on each request.
	header string
}

// NewSigner returns a Signer for kp. The algorithm follows the key: ES256,
// ES384 or ES512 for ECDSA by curve, RS256 for RSA; both registry
// generations accept all of these.
func NewSigner(kp *pki.KeyPair) (*Signer, error) {
	method, err := methodFor(kp)
	if err != nil {
		return nil, err
	}
	x5c := make([]string, len(kp.Chain))
	for i, c := range kp.Chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	kid, err := thumbprint(kp.Key.Public())
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(map[string]any{
		"alg": method.Alg(),
		"typ": "JWT",
		// Registries check x5c first and then ignore kid; kid serves
		// verifiers that know the key from the JWKS instead.
		"x5c": x5c,
		"kid": kid,
	})
	if err != nil {
		return nil, fmt.Errorf("encode token header: %w", err)
	}
	return &Signer{kp: kp, method: method, x5c: x5c, kid: kid,
		header: base64.RawURLEncoding.EncodeToString(header)}, nil
}

func methodFor(kp *pki.KeyPair) (jwt.SigningMethod, error) {
	switch k := kp.Key.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return jwt.SigningMethodES256, nil
		case 384:
			return jwt.SigningMethodES384, nil
		case 521:
			return jwt.SigningMethodES512, nil
		}
		return nil, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PrivateKey:
		return jwt.SigningMethodRS256, nil
	}
	return nil, fmt.Errorf("unsupported signing key type %T", kp.Key)
}

// Algorithm returns the JWS algorithm of the signer, such as "ES256".
func (s *Signer) Algorithm() string { return s.method.Alg() }

// KeyPair returns the signer's key and certificate chain.
func (s *Signer) KeyPair() *pki.KeyPair { return s.kp }

// Sign returns the compact serialisation of a token holding claims
// (RFC 7515 section 7.1): header, payload and signature, each base64url
// encoded without padding, joined by dots.
func (s *Signer) Sign(claims *Claims) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	signingInput := s.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := s.method.Sign(signingInput, s.kp.Key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
