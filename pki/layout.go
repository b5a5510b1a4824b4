package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Validity periods of what Init issues. The CA outlives everything it signs;
// the leaf certificates stay within the 825 days that Apple clients accept.
const (
	CAValidity      = 10 * 365 * 24 * time.Hour
	ServerValidity  = 825 * 24 * time.Hour
	SigningValidity = 825 * 24 * time.Hour
)

// Layout names the files of a deployment's PKI inside one folder.
type Layout struct{ Dir string }

// File names inside a Layout's folder.
const (
	CACertFile      = "ca.crt"
	CAKeyFile       = "ca.key"
	ServerCertFile  = "server.crt"
	ServerKeyFile   = "server.key"
	SigningCertFile = "token.crt"
	SigningKeyFile  = "token.key"
)

// Path returns the path of the named file in the layout.
func (l Layout) Path(name string) string { return filepath.Join(l.Dir, name) }

// InitOptions says what Init creates.
type InitOptions struct {
	Hosts      []string // subjectAltNames of the server certificate
	SigningKey KeyType  // type of the token signing key
	Force      bool     // replace existing keys
	Now        time.Time
}

// ErrExists is returned by Init when keys exist and Force is not set.
var ErrExists = errors.New("pki already exists")

// Init creates a CA, a server certificate for opts.Hosts and a token signing
// certificate in l.Dir, with private keys mode 0600. It refuses to replace
// an existing key unless opts.Force is set, because a new CA invalidates
// every client that trusts the old one.
func (l Layout) Init(opts InitOptions) error {
	if !opts.Force {
		for _, name := range []string{CAKeyFile, ServerKeyFile, SigningKeyFile} {
			if _, err := os.Stat(l.Path(name)); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, l.Path(name))
			}
		}
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.SigningKey == "" {
		opts.SigningKey = ECDSAP256
	}
	// Bad options fail before anything is written: a half-made PKI would
	// make the corrected command fail with ErrExists.
	if len(opts.Hosts) == 0 {
		return errors.New("server certificate needs at least one host")
	}
	if !slices.Contains(KeyTypes, opts.SigningKey) {
		return fmt.Errorf("%w %q (want one of %v)", ErrUnknownKeyType, opts.SigningKey, KeyTypes)
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}

	ca, err := NewCA("regauth CA", opts.Now, CAValidity)
	if err != nil {
		return err
	}
	if err := l.writePair(CACertFile, CAKeyFile, ca.Cert, ca.Key); err != nil {
		return err
	}

	if err := l.issueServer(ca, opts.Hosts, opts.Now); err != nil {
		return err
	}
	return l.IssueSigning(ca, opts.SigningKey, opts.Now)
}

func (l Layout) issueServer(ca *CA, hosts []string, now time.Time) error {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		return err
	}
	cert, err := ca.IssueServer(hosts, key.Public(), now, ServerValidity)
	if err != nil {
		return err
	}
	return l.writePair(ServerCertFile, ServerKeyFile, cert, key, ca.Cert)
}

// IssueSigning creates a new token signing key of type kt and its
// certificate from ca, replacing the layout's current ones. The certificate
// file holds the signing certificate alone, as the token's x5c header
// carries it: registries verify it against the CA they are configured with.
func (l Layout) IssueSigning(ca *CA, kt KeyType, now time.Time) error {
	key, err := GenerateKey(kt)
	if err != nil {
		return err
	}
	cert, err := ca.IssueSigning("regauth token signer", key.Public(), now, SigningValidity)
	if err != nil {
		return err
	}
	return l.writePair(SigningCertFile, SigningKeyFile, cert, key)
}

func (l Layout) writePair(certName, keyName string, cert *x509.Certificate, key crypto.Signer,
	chain ...*x509.Certificate) error {
	return WritePair(l.Path(certName), l.Path(keyName), key, append([]*x509.Certificate{cert}, chain...)...)
}

// WritePair writes a private key and its certificate chain, the key first:
// a reader that loads the pair while it changes then fails on a mismatch
// and keeps what it had, rather than use a certificate whose key it does
// not have.
func WritePair(certPath, keyPath string, key crypto.Signer, chain ...*x509.Certificate) error {
	if err := WriteKey(keyPath, key); err != nil {
		return fmt.Errorf("write %s: %w", keyPath, err)
	}
	if err := WriteCertificates(certPath, chain...); err != nil {
		return fmt.Errorf("write %s: %w", certPath, err)
	}
	return nil
}
