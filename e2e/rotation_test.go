//go:build e2e

package e2e

// This file rotates the token signing key and renews the TLS certificate
// under a running token server and registry, and checks that docker goes
// on pushing with neither restarted.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRotationWithoutRestart pushes, rotates the signing key, pushes again;
// then renews the server certificate and logs in and pushes once more.
// registry:2 is the older verifier, so it is the one that must keep up.
func TestRotationWithoutRestart(t *testing.T) {
	const registryPort, tokenPort = 15080, 15081
	d := startDeployment(t, env(t, "REGISTRY2_BIN"), registryPort, tokenPort)
	reg := d.registry
	trustCA(t, reg, d.caFile)
	d.addUser(t, "alice", "alice-secret", "dev")
	importImage(t, reg+"/dev/app:1")
	alice := newDockerClient(t)
	// The running server takes the new account within a second.
	eventually(t, liveChangeTimeout, "alice's first login",
		func() result { return alice.login(reg, "alice", "alice-secret") }, succeeded)
	alice.mustPush(t, reg+"/dev/app:1")

	tokenURL := "https://" + net.JoinHostPort(env(t, "REGAUTH_E2E_HOST"), strconv.Itoa(tokenPort))
	client := httpsClient(t, d.caFile)
	before := signingKeyID(t, client, tokenURL)

	out := d.regauth(t, "", "pki", "rotate")
	after := strings.Fields(strings.TrimPrefix(out, "new signing key "))[0]
	if after == before {
		t.Fatalf("pki rotate kept the key id %s", before)
	}
	eventually(t, liveChangeTimeout, "the token server signing with the new key",
		func() result {
			if kid := signingKeyID(t, client, tokenURL); kid != after {
				return result{err: fmt.Errorf("kid %s, want %s", kid, after)}
			}
			return result{}
		}, succeeded)

	importImage(t, reg+"/dev/app:2")
	alice.mustPush(t, reg+"/dev/app:2")

	serialBefore := servedSerial(t, tokenURL, d.caFile)
	d.regauth(t, "", "pki", "renew")
	eventually(t, liveChangeTimeout, "the token server serving the renewed certificate",
		func() result {
			if servedSerial(t, tokenURL, d.caFile) == serialBefore {
				return result{err: fmt.Errorf("still the old certificate")}
			}
			return result{}
		}, succeeded)
	alice.mustLogin(t, reg, "alice", "alice-secret")
	importImage(t, reg+"/dev/app:3")
	alice.mustPush(t, reg+"/dev/app:3")
}

// httpsClient trusts the deployment's CA and nothing else.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// signingKeyID returns the kid the token server publishes in its JWKS.
func signingKeyID(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/jwks.json")
	if err != nil {
		t.Fatalf("jwks: %v", err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: status %d, %d keys, %v", resp.StatusCode, len(set.Keys), err)
	}
	return set.Keys[0].Kid
}

// servedSerial returns the serial number of the certificate the server at
// base presents, verified against the CA.
func servedSerial(t *testing.T, base, caFile string) string {
	t.Helper()
	c := httpsClient(t, caFile)
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.String()
}
