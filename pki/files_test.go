package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pkcs8 returns key in PKCS #8 DER.
func pkcs8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// p256Params is the body of the EC PARAMETERS block openssl writes for
// P-256: the curve's object identifier.
func p256Params(t testing.TB) []byte {
	t.Helper()
	der, err := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadKey(t *testing.T) {
	ecKey := mustKey(t, ECDSAP256).(*ecdsa.PrivateKey)
	rsaKey := mustKey(t, RSA2048).(*rsa.PrivateKey)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// openssl ecparam -genkey writes the curve in a block of its own before
	// the key, so that form is tested beside the plain ones.
	p256 := p256Params(t)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
		want crypto.Signer
	}{
		{"PKCS #1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey},
		{"SEC 1 EC", pemBlock("EC PRIVATE KEY", sec1), ecKey},
		{"SEC 1 EC after EC PARAMETERS",
			append(pemBlock("EC PARAMETERS", p256), pemBlock("EC PRIVATE KEY", sec1)...), ecKey},
		{"PKCS #8 EC", pemBlock("PRIVATE KEY", pkcs8(t, ecKey)), ecKey},
		{"PKCS #8 RSA", pemBlock("PRIVATE KEY", pkcs8(t, rsaKey)), rsaKey},
		{"PKCS #8 Ed25519", pemBlock("PRIVATE KEY", pkcs8(t, edKey)), edKey},
		{"text around the block", append([]byte("key made by hand\n"),
			pemBlock("EC PRIVATE KEY", sec1)...), ecKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "key.pem", tt.data)
			got, err := LoadKey(path)
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			pub, ok := got.Public().(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !pub.Equal(tt.want.Public()) {
				t.Errorf("LoadKey gave a %T that is not the key written", got)
			}
		})
	}
}

func TestLoadKeyErrors(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name string
		data []byte
	}{
		{"no PEM", []byte("not a key\n")},
		{"empty", nil},
		{"certificate", pemBlock("CERTIFICATE", ca.Cert.Raw)},
		{"encrypted", pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00})},
		{"public key", pemBlock("PUBLIC KEY", ca.Cert.RawSubjectPublicKeyInfo)},
		{"EC PARAMETERS alone", pemBlock("EC PARAMETERS", p256Params(t))},
		{"corrupt SEC 1", pemBlock("EC PRIVATE KEY", []byte("garbage"))},
		{"corrupt PKCS #8", pemBlock("PRIVATE KEY", []byte("garbage"))},
		{"corrupt PKCS #1", pemBlock("RSA PRIVATE KEY", []byte("garbage"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "key.pem", tt.data)
			if _, err := LoadKey(path); err == nil {
				t.Error("LoadKey succeeded, want an error")
			}
		})
	}

	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadKey of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestLoadKeyPair(t *testing.T) {
	ca := newTestCA(t)
	key, other := mustKey(t, ECDSAP256), mustKey(t, ECDSAP256)
	rsaKey := mustKey(t, RSA2048)
	cert, err := ca.IssueSigning("signer", key.Public(), testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     crypto.Signer
		wantErr error
	}{
		{"matching key", key, nil},
		{"another key of the same kind", other, ErrKeyMismatch},
		{"another kind of key", rsaKey, ErrKeyMismatch},
		{"the CA's key", ca.Key, ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
			if err := WriteCertificates(certPath, cert, ca.Cert); err != nil {
				t.Fatal(err)
			}
			if err := WriteKey(keyPath, tt.key); err != nil {
				t.Fatal(err)
			}
			kp, err := LoadKeyPair(certPath, keyPath)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadKeyPair error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(kp.Chain) != 2 || !kp.Leaf().Equal(cert) || !kp.Chain[1].Equal(ca.Cert) {
				t.Errorf("chain of %d certificates, want the leaf then the CA", len(kp.Chain))
			}
		})
	}
}

func TestLoadCertificates(t *testing.T) {
	ca := newTestCA(t)
	leaf, err := ca.IssueSigning("signer", mustKey(t, ECDSAP256).Public(), testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pemBlock("PRIVATE KEY", pkcs8(t, ca.Key))
	tests := []struct {
		name    string
		data    []byte
		want    []*x509.Certificate
		wantErr bool
	}{
		{"one", pemBlock("CERTIFICATE", ca.Cert.Raw), []*x509.Certificate{ca.Cert}, false},
		{"chain in order",
			append(pemBlock("CERTIFICATE", leaf.Raw), pemBlock("CERTIFICATE", ca.Cert.Raw)...),
			[]*x509.Certificate{leaf, ca.Cert}, false},
		{"key block skipped", append(keyPEM, pemBlock("CERTIFICATE", leaf.Raw)...),
			[]*x509.Certificate{leaf}, false},
		{"no certificate", keyPEM, nil, true},
		{"no PEM", []byte("nothing"), nil, true},
		{"corrupt certificate", pemBlock("CERTIFICATE", []byte("garbage")), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCertificates(writeFile(t, t.TempDir(), "c.pem", tt.data))
			if tt.wantErr {
				if err == nil {
					t.Error("LoadCertificates succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("certificate %d is %q, want %q", i, got[i].Subject, tt.want[i].Subject)
				}
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	ca := newTestCA(t)
	key := mustKey(t, ECDSAP256)
	leaf, err := ca.IssueSigning("signer", key.Public(), testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		key     crypto.Signer
		wantErr bool
	}{
		{"CA", ca.Cert, ca.Key, false},
		{"a leaf is no CA", leaf, key, true},
		{"CA with a foreign key", ca.Cert, key, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
			if err := WriteCertificates(certPath, tt.cert); err != nil {
				t.Fatal(err)
			}
			if err := WriteKey(keyPath, tt.key); err != nil {
				t.Fatal(err)
			}
			got, err := LoadCA(certPath, keyPath)
			if tt.wantErr {
				if err == nil {
					t.Error("LoadCA succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Cert.Equal(ca.Cert) {
				t.Error("LoadCA gave another certificate")
			}
		})
	}
}

func TestWriteModes(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	keyPath, certPath := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")

	// A key replaces a file that was readable by all, and is not.
	writeFile(t, dir, "k.pem", []byte("old"))
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteKey(keyPath, ca.Key); err != nil {
		t.Fatal(err)
	}
	if err := WriteCertificates(certPath, ca.Cert); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want fs.FileMode
	}{
		{keyPath, 0o600},
		{certPath, 0o644},
	}
	for _, tt := range tests {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tt.want {
			t.Errorf("%s mode %v, want %v", filepath.Base(tt.path), fi.Mode().Perm(), tt.want)
		}
	}
	if _, err := LoadKeyPair(certPath, keyPath); err != nil {
		t.Errorf("written pair does not load: %v", err)
	}
}
