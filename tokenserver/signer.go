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

// Signer signs registry tokens with one key and, unless made
// WithoutChain, carries its certificate chain in every token's x5c header.
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

// SignerOption changes how a Signer makes tokens.
type SignerOption func(*signerOptions)

type signerOptions struct {
	withoutChain bool
}

// WithoutChain leaves the x5c header out of tokens, so that they name their
// key by kid alone. That is for registry:3 configured with a jwks file and
// no rootcertbundle: it checks x5c first when present and, with no CA to
// check it against, refuses the token. Such a registry must be given the
// new JWKS at every key rotation, where one that trusts the CA needs
// nothing.
func WithoutChain() SignerOption {
	return func(o *signerOptions) { o.withoutChain = true }
}

// NewSigner returns a Signer for kp. The algorithm follows the key: ES256,
// ES384 or ES512 for ECDSA by curve, RS256 for RSA; both registry
// generations accept all of these.
func NewSigner(kp *pki.KeyPair, opts ...SignerOption) (*Signer, error) {
	var o signerOptions
	for _, opt := range opts {
		opt(&o)
	}
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
	fields := map[string]any{
		"alg": method.Alg(),
		"typ": "JWT",
		// Registries check x5c first and then ignore kid; kid serves
		// verifiers that know the key from the JWKS instead.
		"x5c": x5c,
		"kid": kid,
	}
	if o.withoutChain {
		delete(fields, "x5c")
	}
	header, err := json.Marshal(fields)
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
