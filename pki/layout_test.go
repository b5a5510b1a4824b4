package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// pairFiles are the certificate and key files Init writes, in pairs.
var pairFiles = [][2]string{
	{CACertFile, CAKeyFile},
	{ServerCertFile, ServerKeyFile},
	{SigningCertFile, SigningKeyFile},
}

func initLayout(t *testing.T, opts InitOptions) Layout {
	t.Helper()
	l := Layout{Dir: filepath.Join(t.TempDir(), "pki")}
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	if err := l.Init(opts); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return l
}

func TestLayoutInit(t *testing.T) {
	hosts := []string{"registry.example.com", "10.0.0.5", "::1"}
	l := initLayout(t, InitOptions{Hosts: hosts})

	for _, pair := range pairFiles {
		for i, name := range pair {
			fi, err := os.Stat(l.Path(name))
			if err != nil {
				t.Fatal(err)
			}
			want := fs.FileMode(0o644)
			if i == 1 {
				want = 0o600 // private keys
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
			}
		}
	}

	ca, err := LoadCA(l.Path(CACertFile), l.Path(CAKeyFile))
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	pool := roots(ca.Cert)

	server, err := LoadKeyPair(l.Path(ServerCertFile), l.Path(ServerKeyFile))
	if err != nil {
		t.Fatalf("server pair: %v", err)
	}
	if len(server.Chain) != 2 || !server.Chain[1].Equal(ca.Cert) {
		t.Errorf("server.crt holds %d certificates, want the leaf then the CA", len(server.Chain))
	}
	for _, h := range append(hosts, "[::1]") {
		opts := x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: testNow}
		if _, err := server.Leaf().Verify(opts); err != nil {
			t.Errorf("server certificate for %q: %v", h, err)
		}
	}

	signing, err := LoadKeyPair(l.Path(SigningCertFile), l.Path(SigningKeyFile))
	if err != nil {
		t.Fatalf("signing pair: %v", err)
	}
	if len(signing.Chain) != 1 {
		t.Errorf("token.crt holds %d certificates, want the signing certificate alone",
			len(signing.Chain))
	}
	if _, ok := signing.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("default signing key is %T, want ECDSA", signing.Key)
	}
	opts := x509.VerifyOptions{Roots: pool, CurrentTime: testNow,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := signing.Leaf().Verify(opts); err != nil {
		t.Errorf("signing certificate does not chain to the CA: %v", err)
	}
}

func TestLayoutInitSigningKeyTypes(t *testing.T) {
	for _, kt := range KeyTypes {
		t.Run(string(kt), func(t *testing.T) {
			l := initLayout(t, InitOptions{Hosts: []string{"localhost"}, SigningKey: kt})
			kp, err := LoadKeyPair(l.Path(SigningCertFile), l.Path(SigningKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			var bits int
			switch k := kp.Key.(type) {
			case *ecdsa.PrivateKey:
				bits = k.Curve.Params().BitSize
			case *rsa.PrivateKey:
				bits = k.N.BitLen()
			}
			want := map[KeyType]int{ECDSAP256: 256, ECDSAP384: 384, RSA2048: 2048, RSA4096: 4096}[kt]
			if bits != want {
				t.Errorf("signing key %T of %d bits, want %d", kp.Key, bits, want)
			}
		})
	}
}

func TestLayoutInitRefusesOverwrite(t *testing.T) {
	for _, name := range []string{CAKeyFile, ServerKeyFile, SigningKeyFile} {
		t.Run(name, func(t *testing.T) {
			l := Layout{Dir: t.TempDir()}
			writeFile(t, l.Dir, name, []byte("precious"))

			err := l.Init(InitOptions{Hosts: []string{"localhost"}, Now: testNow})
			if !errors.Is(err, ErrExists) {
				t.Fatalf("Init over an existing %s: %v, want ErrExists", name, err)
			}
			if got, _ := os.ReadFile(l.Path(name)); string(got) != "precious" {
				t.Errorf("%s was replaced", name)
			}
			for _, other := range []string{CAKeyFile, ServerKeyFile, SigningKeyFile} {
				if _, err := os.Stat(l.Path(other)); other != name && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("refused Init still wrote %s", other)
				}
			}
		})
	}
}

func TestLayoutInitForce(t *testing.T) {
	l := initLayout(t, InitOptions{Hosts: []string{"localhost"}})
	before, err := os.ReadFile(l.Path(CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}

	opts := InitOptions{Hosts: []string{"localhost"}, Now: testNow}
	if err := l.Init(opts); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(l.Path(CAKeyFile)); !bytes.Equal(before, after) {
		t.Fatal("refused Init changed the CA key")
	}

	opts.Force = true
	if err := l.Init(opts); err != nil {
		t.Fatalf("Init with Force: %v", err)
	}
	after, _ := os.ReadFile(l.Path(CAKeyFile))
	if bytes.Equal(before, after) {
		t.Error("Init with Force kept the old CA key")
	}
	if fi, err := os.Stat(l.Path(CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced CA key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// TestLayoutInitBadOptions checks that Init refuses bad options before it
// writes anything, so that the corrected command does not need --force.
func TestLayoutInitBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    InitOptions
		wantErr error
	}{
		{"unknown key type", InitOptions{Hosts: []string{"localhost"}, SigningKey: "ecdsa-256"},
			ErrUnknownKeyType},
		{"no hosts", InitOptions{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Layout{Dir: filepath.Join(t.TempDir(), "pki")}
			tt.opts.Now = testNow
			err := l.Init(tt.opts)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Init: %v, want an error wrapping %v", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(l.Dir)
			for _, e := range entries {
				t.Errorf("failed Init left %s behind", e.Name())
			}
		})
	}
}

func TestLayoutIssueSigning(t *testing.T) {
	l := initLayout(t, InitOptions{Hosts: []string{"localhost"}})
	ca, err := LoadCA(l.Path(CACertFile), l.Path(CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	old, err := LoadKeyPair(l.Path(SigningCertFile), l.Path(SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	caBefore, _ := os.ReadFile(l.Path(CACertFile))

	if err := l.IssueSigning(ca, ECDSAP384, testNow); err != nil {
		t.Fatalf("IssueSigning: %v", err)
	}
	kp, err := LoadKeyPair(l.Path(SigningCertFile), l.Path(SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if kp.Leaf().Equal(old.Leaf()) {
		t.Error("IssueSigning kept the old certificate")
	}
	if k, ok := kp.Key.(*ecdsa.PrivateKey); !ok || k.Curve.Params().BitSize != 384 {
		t.Errorf("new signing key %T, want ECDSA P-384", kp.Key)
	}
	opts := x509.VerifyOptions{Roots: roots(ca.Cert), CurrentTime: testNow,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := kp.Leaf().Verify(opts); err != nil {
		t.Errorf("new signing certificate does not chain to the CA: %v", err)
	}
	if caAfter, _ := os.ReadFile(l.Path(CACertFile)); !bytes.Equal(caBefore, caAfter) {
		t.Error("IssueSigning changed the CA")
	}
}
