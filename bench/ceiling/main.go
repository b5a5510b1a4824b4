// Command ceiling is the yardstick of bench/run.sh: the least a token
// server over TLS can do per request. It signs one ES256 token per request
// and answers a body of the shape and size of regauth's token response,
// and does nothing else: no query parsing, no password, no rules, no log.
// What regauth reaches as a share of this server's rate is the figure
// docs/performance.md reports.
//
// It prints "listening on ADDR" once it accepts connections and serves
// until it receives SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	certFile := flag.String("cert", "", "TLS certificate (PEM); a self-signed one when empty")
	keyFile := flag.String("key", "", "TLS key (PEM) of -cert")
	flag.Parse()

	if err := run(*addr, *certFile, *keyFile); err != nil {
		log.Fatal(err)
	}
}

func run(addr, certFile, keyFile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tlsCert, err := serverCertificate(certFile, keyFile)
	if err != nil {
		return err
	}
	m, err := newMinter()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           m,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{tlsCert},
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	fmt.Printf("listening on %s\n", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serverCertificate loads the TLS certificate, so that the ceiling pays
// the handshake regauth pays with the same key type, or makes one.
func serverCertificate(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	key, der, err := selfSigned("ceiling")
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// minter signs tokens. Its header is fixed, like that of a regauth
// signer, and carries the signing certificate in x5c so that tokens are
// as long as regauth's.
type minter struct {
	key    *ecdsa.PrivateKey
	header string // base64url of the JOSE header
}

func newMinter() (*minter, error) {
	key, der, err := selfSigned("ceiling token signer")
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(map[string]any{
		"alg": "ES256",
		"typ": "JWT",
		"kid": "ceiling",
		"x5c": []string{base64.StdEncoding.EncodeToString(der)},
	})
	if err != nil {
		return nil, err
	}
	return &minter{key: key, header: base64.RawURLEncoding.EncodeToString(header)}, nil
}

// ServeHTTP answers every request with a freshly signed token.
func (m *minter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	now := time.Now().Unix()
	token, err := m.sign(now)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}

	body := make([]byte, 0, 2*len(token)+128)
	body = append(body, `{"token":"`...)
	body = append(body, token...)
	body = append(body, `","access_token":"`...)
	body = append(body, token...)
	body = append(body, `","expires_in":300,"issued_at":"`...)
	body = time.Unix(now, 0).UTC().AppendFormat(body, time.RFC3339)
	body = append(body, "\"}\n"...)

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// sign returns a compact ES256 token with a fresh jti, the one claim a
// token server must make anew each time besides the times.
func (m *minter) sign(now int64) (string, error) {
	claims := fmt.Sprintf(`{"iss":"ceiling","sub":"","aud":"registry","exp":%d,"nbf":%d,"iat":%d,`+
		`"jti":%q,"access":[{"type":"repository","name":"public/app","actions":["pull"]}]}`,
		now+300, now, now, rand.Text())
	input := m.header + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))

	// RFC 7518 section 3.4: the signature is r and s as two 32-byte
	// big-endian numbers, not the ASN.1 form.
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, m.key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// selfSigned returns a P-256 key and a self-signed certificate for it,
// valid for the loopback addresses.
func selfSigned(name string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return key, der, nil
}
