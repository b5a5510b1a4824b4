package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of the certificates made here.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA("regauth test CA", testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	key, err := GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func roots(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

func TestNewCA(t *testing.T) {
	ca := newTestCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA %v, valid %v, MaxPathLen %d, zero %v",
			c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA key usage %v lacks cert sign", c.KeyUsage)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if !c.NotBefore.Equal(testNow.Add(-time.Hour)) || !c.NotAfter.Equal(testNow.Add(24*time.Hour)) {
		t.Errorf("validity %v to %v, want an hour back to a day on", c.NotBefore, c.NotAfter)
	}
}

func TestIssueServerSANs(t *testing.T) {
	tests := []struct {
		name    string
		hosts   []string
		wantDNS []string
		wantIPs []string
	}{
		{"name and IPv4", []string{"registry.example.com", "10.0.0.5"},
			[]string{"registry.example.com"}, []string{"10.0.0.5"}},
		{"IPv4 alone", []string{"192.0.2.10"}, nil, []string{"192.0.2.10"}},
		{"IPv6", []string{"::1"}, nil, []string{"::1"}},
		{"bracketed IPv6", []string{"[fd00::5]"}, nil, []string{"fd00::5"}},
		{"local names", []string{"localhost", "127.0.0.1", "[::1]", "registry"},
			[]string{"localhost", "registry"}, []string{"127.0.0.1", "::1"}},
		{"wildcard", []string{"*.example.com"}, []string{"*.example.com"}, nil},
		{"IPv4-mapped IPv6", []string{"[::ffff:10.0.0.1]"}, nil, []string{"10.0.0.1"}},
	}
	ca := newTestCA(t)
	key := mustKey(t, ECDSAP256)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := ca.IssueServer(tt.hosts, key.Public(), testNow, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cert.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames %q, want %q", cert.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPAddresses %q, want %q", ips, tt.wantIPs)
			}
			if cert.Subject.CommonName != tt.hosts[0] {
				t.Errorf("common name %q, want the first host %q", cert.Subject.CommonName, tt.hosts[0])
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("extended key usage %v, want server auth", cert.ExtKeyUsage)
			}
		})
	}
}

func TestIssueServerVerifies(t *testing.T) {
	ca := newTestCA(t)
	hosts := []string{"registry.example.com", "localhost", "10.0.0.5", "::1", "[fd00::5]",
		"*.apps.example"}
	cert, err := ca.IssueServer(hosts, mustKey(t, ECDSAP256).Public(), testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		host    string
		wantErr bool
	}{
		{"DNS name", "registry.example.com", false},
		{"localhost", "localhost", false},
		{"IPv4", "10.0.0.5", false},
		{"IPv6", "::1", false},
		{"IPv6 bracketed", "[::1]", false},
		{"IPv6 given bracketed", "fd00::5", false},
		{"IPv6 given bracketed, asked bracketed", "[fd00::5]", false},
		{"under the wildcard", "web.apps.example", false},
		{"another name", "other.example.com", true},
		{"another IP", "10.0.0.6", true},
		{"two levels under the wildcard", "a.web.apps.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{
				DNSName:     tt.host,
				Roots:       roots(ca.Cert),
				CurrentTime: testNow,
			})
			if tt.wantErr {
				var herr x509.HostnameError
				if !errors.As(err, &herr) {
					t.Errorf("Verify(%q) error %v, want a HostnameError", tt.host, err)
				}
				return
			}
			if err != nil {
				t.Errorf("Verify(%q): %v", tt.host, err)
			}
		})
	}

	other := newTestCA(t)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots(other.Cert),
		CurrentTime: testNow}); err == nil {
		t.Error("server certificate verifies under a CA that did not issue it")
	}
}

func TestIssueServerKeyUsage(t *testing.T) {
	tests := []struct {
		kt   KeyType
		want x509.KeyUsage
	}{
		{ECDSAP256, x509.KeyUsageDigitalSignature},
		{RSA2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
	}
	ca := newTestCA(t)
	for _, tt := range tests {
		t.Run(string(tt.kt), func(t *testing.T) {
			pub := mustKey(t, tt.kt).Public()
			cert, err := ca.IssueServer([]string{"localhost"}, pub, testNow, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if cert.KeyUsage != tt.want {
				t.Errorf("key usage %v, want %v", cert.KeyUsage, tt.want)
			}
		})
	}
}

func TestIssueServerNoHosts(t *testing.T) {
	ca := newTestCA(t)
	if _, err := ca.IssueServer(nil, mustKey(t, ECDSAP256).Public(), testNow, time.Hour); err == nil {
		t.Error("IssueServer with no hosts succeeded")
	}
}

func TestIssueSigningChainsToCA(t *testing.T) {
	ca := newTestCA(t)
	key := mustKey(t, ECDSAP256)
	cert, err := ca.IssueSigning("token signer", key.Public(), testNow, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("IsCA %v, key usage %v; want a leaf for signatures only", cert.IsCA, cert.KeyUsage)
	}
	if !cert.NotAfter.Equal(testNow.Add(2 * time.Hour)) {
		t.Errorf("NotAfter %v, want %v", cert.NotAfter, testNow.Add(2*time.Hour))
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		t.Error("certificate does not hold the signing key")
	}

	// Registries verify the x5c chain with any extended key usage.
	opts := x509.VerifyOptions{
		Roots:       roots(ca.Cert),
		CurrentTime: testNow,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	chains, err := cert.Verify(opts)
	if err != nil {
		t.Fatalf("signing certificate does not chain to the CA: %v", err)
	}
	if last := chains[0][len(chains[0])-1]; !last.Equal(ca.Cert) {
		t.Errorf("chain ends at %q, want the CA", last.Subject)
	}

	opts.Roots = roots(newTestCA(t).Cert)
	if _, err := cert.Verify(opts); err == nil {
		t.Error("signing certificate verifies under a CA that did not issue it")
	}
	opts.Roots, opts.CurrentTime = roots(ca.Cert), testNow.Add(3*time.Hour)
	if _, err := cert.Verify(opts); err == nil {
		t.Error("signing certificate verifies after it expired")
	}
}

func TestGenerateKey(t *testing.T) {
	tests := []struct {
		kt        KeyType
		wantCurve string
		wantBits  int
	}{
		{ECDSAP256, "P-256", 0},
		{ECDSAP384, "P-384", 0},
		{RSA2048, "", 2048},
		{RSA4096, "", 4096},
	}
	if len(tests) != len(KeyTypes) {
		t.Fatalf("test covers %d key types, KeyTypes has %d", len(tests), len(KeyTypes))
	}
	for _, tt := range tests {
		t.Run(string(tt.kt), func(t *testing.T) {
			key, err := GenerateKey(tt.kt)
			if err != nil {
				t.Fatal(err)
			}
			switch k := key.(type) {
			case *ecdsa.PrivateKey:
				if k.Curve.Params().Name != tt.wantCurve {
					t.Errorf("curve %s, want %s", k.Curve.Params().Name, tt.wantCurve)
				}
			case *rsa.PrivateKey:
				if k.N.BitLen() != tt.wantBits {
					t.Errorf("RSA key of %d bits, want %d", k.N.BitLen(), tt.wantBits)
				}
			default:
				t.Errorf("key of type %T", key)
			}
		})
	}
	for _, bad := range []KeyType{"", "ed25519", "ECDSA-P256", "rsa-1024"} {
		if _, err := GenerateKey(bad); !errors.Is(err, ErrUnknownKeyType) {
			t.Errorf("GenerateKey(%q) error %v, want ErrUnknownKeyType", bad, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	ca := newTestCA(t)
	fp := Fingerprint(ca.Cert)
	sum := sha256.Sum256(ca.Cert.Raw)
	if want := hex.EncodeToString(sum[:]); strings.ReplaceAll(fp, ":", "") != want {
		t.Errorf("Fingerprint = %s, want the SHA-256 %s", fp, want)
	}
	if len(fp) != 32*3-1 || fp != strings.ToLower(fp) {
		t.Errorf("Fingerprint = %q, want 32 lower-case hex pairs joined by colons", fp)
	}
}
