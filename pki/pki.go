package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// KeyType names a kind of private key the package can generate.
type KeyType string

// The key types regauth generates. ECDSA P-256 (ES256) is the default
// because registry:2 and registry:3 both accept it and signatures are cheap.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA4096   KeyType = "rsa-4096"
)

// KeyTypes lists every supported KeyType, default first.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, RSA2048, RSA4096}

// ErrUnknownKeyType is returned for a KeyType the package cannot generate.
var ErrUnknownKeyType = errors.New("unknown key type")

// GenerateKey returns a new private key of type kt.
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKeyType, kt, KeyTypes)
}

// CA is a certificate authority: its self-signed certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA creates a self-signed CA named commonName, valid from now for
// validity. Its key is ECDSA P-256.
func NewCA(commonName string, now time.Time, validity time.Duration) (*CA, error) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	tmpl, err := template(commonName, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLen = 0
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign

	cert, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign ca: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// IssueServer issues a TLS server certificate for key that names every host
// as a subjectAltName: an IP literal as an IP SAN, anything else as a DNS
// SAN. Clients match an IP address only against IP SANs, which is why a
// hand-made certificate with the IP in a DNS SAN fails.
func (ca *CA) IssueServer(hosts []string, key crypto.PublicKey, now time.Time,
	validity time.Duration) (*x509.Certificate, error) {
	if len(hosts) == 0 {
		return nil, errors.New("server certificate needs at least one host")
	}
	tmpl, err := template(hosts[0], now, validity)
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}

	cert, err := sign(tmpl, ca.Cert, key, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return cert, nil
}

// IssueSigning issues the certificate of a token signing key. It carries
// digital signature usage only; registries verify its chain to the CA with
// any extended key usage.
func (ca *CA) IssueSigning(commonName string, key crypto.PublicKey, now time.Time,
	validity time.Duration) (*x509.Certificate, error) {
	tmpl, err := template(commonName, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature

	cert, err := sign(tmpl, ca.Cert, key, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue signing certificate: %w", err)
	}
	return cert, nil
}

// template returns the fields every certificate here shares. NotBefore is
// set an hour back so that a client whose clock lags slightly still accepts
// a certificate made a moment ago.
func template(commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"regauth"}},
		NotBefore:    now.Add(-time.Hour).UTC(),
		NotAfter:     now.Add(validity).UTC(),
	}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Fingerprint returns the SHA-256 fingerprint of cert as lower-case hex
// pairs joined by colons, the form openssl prints.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}
