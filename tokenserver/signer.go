package tokenserver

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
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
	return &Signer{kp: kp, method: method, x5c: x5c, kid: kid}, nil
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

// Sign returns the compact serialisation of a token holding claims.
func (s *Signer) Sign(claims *Claims) (string, error) {
	t := jwt.NewWithClaims(s.method, claims)
	// Registries check x5c first and then ignore kid; kid serves
	// verifiers that know the key from the JWKS instead.
	t.Header["x5c"] = s.x5c
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.kp.Key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}
