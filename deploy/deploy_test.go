// Package deploy_test checks the deployment files under deploy/: the
// Dockerfile, the two Compose variants, the nginx configuration, the
// systemd unit and the Kubernetes manifests. Most checks are structural,
// in Go; where a real tool is installed (docker-compose, nginx,
// systemd-analyze) the files also go through it, and TestNginxInFront runs
// nginx before two real token servers and a registry on loopback.
// scripts/test.sh installs the tools; without one, its check is skipped
// with a message naming the Debian package.
package deploy_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root, seen from this package's folder.
const repoRoot = ".."

func TestMain(m *testing.M) {
	code := m.Run()
	built.cleanup()
	os.Exit(code)
}

// requireTool returns the path of a command, or skips the test when it is
// not installed.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian package %s): "+
			"this check did not run", name, debianPackage)
	}
	return path
}

// sharedBinary is a regauth binary built once for all the tests.
type sharedBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

var built sharedBinary

func (b *sharedBinary) cleanup() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// regauthBinary returns the path of a regauth binary: REGAUTH_BIN when set
// (scripts/test.sh builds one), otherwise one built from ./cmd/regauth.
func regauthBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("REGAUTH_BIN"); bin != "" {
		return bin
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "regauth-deploy-test-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "regauth")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", built.path, "./cmd/regauth")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/regauth: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// runRegauth runs a regauth command to completion and returns its
// standard output.
func runRegauth(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, regauthBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("regauth %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// initDeployment runs "regauth init" into a new folder and returns it.
func initDeployment(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "regauth-data")
	runRegauth(t, nil, "", append([]string{"init", "--dir", dir}, args...)...)
	return dir
}

// readYAML decodes one YAML document from a file under deploy/.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

// Accessors for decoded YAML: the zero value when absent or of another
// type, so that a check reports what is missing instead of panicking.
func mapAt(v any, key string) map[string]any {
	m, _ := v.(map[string]any)
	out, _ := m[key].(map[string]any)
	return out
}

func listAt(v any, key string) []any {
	m, _ := v.(map[string]any)
	out, _ := m[key].([]any)
	return out
}

func stringAt(v any, key string) string {
	m, _ := v.(map[string]any)
	switch s := m[key].(type) {
	case string:
		return s
	case nil:
		return ""
	default:
		return fmt.Sprint(s)
	}
}

// configKeys returns every key of config.example.yaml, nested ones joined
// with ".", which is the set of keys regauth documents.
func configKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			keys[prefix+k] = true
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", readYAML(t, filepath.Join(repoRoot, "config.example.yaml")))
	return keys
}

// envName is the environment variable that overrides a config key.
func envName(key string) string {
	return "REGAUTH_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// writeSelfSignedCert writes a throwaway certificate for 127.0.0.1 and its
// key as PEM files in dir.
func writeSelfSignedCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "deploy test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", keyDER)
	return certPath, keyPath
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback port nothing listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
