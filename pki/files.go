package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/regauth/regauth/internal/atomicfile"
)

// KeyPair is a private key with its certificate chain, leaf first.
type KeyPair struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Leaf returns the certificate of the pair's key.
func (kp *KeyPair) Leaf() *x509.Certificate { return kp.Chain[0] }

// WriteCertificates writes certs PEM-encoded to path, mode 0644. The file
// is replaced atomically so a reader never sees half a chain.
func WriteCertificates(path string, certs ...*x509.Certificate) error {
	var buf bytes.Buffer
	for _, c := range certs {
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return fmt.Errorf("encode certificate: %w", err)
		}
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

// WriteKey writes key as a PKCS #8 PEM block to path, mode 0600.
func WriteKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal private key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return atomicfile.Write(path, data, 0o600)
}

// LoadCertificates reads every certificate in the PEM file at path.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: parse certificate: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return certs, nil
}

// LoadKey reads a PEM private key in PKCS #8, PKCS #1 (RSA) or SEC 1 (EC)
// form, so keys made by openssl work as well as those regauth writes.
func LoadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	// openssl ecparam -genkey writes the curve in a block before the key.
	for block != nil && block.Type == "EC PARAMETERS" {
		block, rest = pem.Decode(rest)
	}
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found", path)
	}
	key, err := parseKey(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

func parseKey(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// ErrKeyMismatch is returned when a private key does not belong to the
// certificate it is loaded with.
var ErrKeyMismatch = errors.New("private key does not match certificate")

// LoadKeyPair reads a certificate chain and its private key and checks
// that they belong together.
func LoadKeyPair(certPath, keyPath string) (*KeyPair, error) {
	chain, err := LoadCertificates(certPath)
	if err != nil {
		return nil, err
	}
	key, err := LoadKey(keyPath)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, fmt.Errorf("%s and %s: %w", certPath, keyPath, ErrKeyMismatch)
	}
	return &KeyPair{Chain: chain, Key: key}, nil
}

// LoadCA reads the CA certificate and key.
func LoadCA(certPath, keyPath string) (*CA, error) {
	kp, err := LoadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if !kp.Leaf().IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	return &CA{Cert: kp.Leaf(), Key: kp.Key}, nil
}
