//go:build e2e

package e2e

// This file sets up what an operator would: a deployment made by
// "regauth init", its token server and a registry binary started with the
// configuration regauth wrote, accounts made with the regauth commands, and
// the CA trusted by dockerd.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dockerCertsDir is where dockerd looks for a registry's CA, per HOST:PORT,
// at each connection.
const dockerCertsDir = "/etc/docker/certs.d"

// registryEnv keeps distribution v3 from exporting traces over the network.
var registryEnv = []string{"OTEL_TRACES_EXPORTER=none"}

// deployment is one regauth deployment under test, its servers running in
// the network namespace.
type deployment struct {
	dir    string // what "regauth init" created
	config string // dir/config.yaml
	// registry is HOST:PORT of the registry as clients name it, the prefix
	// of every image reference.
	registry string
	caFile   string
}

// regauth runs a regauth command against the deployment's configuration,
// with stdin (a password, say), and returns its stdout.
func (d *deployment) regauth(t *testing.T, stdin string, args ...string) string {
	t.Helper()

	args = append(args, "--config", d.config)
	return run(t, strings.NewReader(stdin), env(t, "REGAUTH_BIN"), args...)
}

// addUser adds an account with a password and teams.
func (d *deployment) addUser(t *testing.T, name, password string, teams ...string) {
	t.Helper()

	args := []string{"user", "add", name, "--password-stdin"}
	for _, team := range teams {
		args = append(args, "--team", team)
	}
	d.regauth(t, password+"\n", args...)
	d.waitForAccount(t, name, password)
}

// realmPattern finds the token URL in the config "regauth init" wrote.
var realmPattern = regexp.MustCompile(`(?m)^realm: "([^"]+)"`)

// waitForAccount returns once the running token server accepts the
// account: it reloads the users file within a second of a change, and a
// test that logs in at once would race it.
func (d *deployment) waitForAccount(t *testing.T, name, password string) {
	t.Helper()

	config, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	m := realmPattern.FindSubmatch(config)
	if m == nil {
		t.Fatalf("no realm in %s", d.config)
	}
	client := httpsClient(t, d.caFile)
	eventually(t, liveChangeTimeout, "the token server taking account "+name,
		func() result {
			req, err := http.NewRequest(http.MethodGet, string(m[1])+"?service=registry", nil)
			if err != nil {
				return result{err: err}
			}
			req.SetBasicAuth(name, password)
			resp, err := client.Do(req)
			if err != nil {
				return result{err: err}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return result{err: fmt.Errorf("token request: %s", resp.Status)}
			}
			return result{}
		}, succeeded)
}

// initDeployment runs "regauth init" in a fresh folder for a registry on
// registryPort and a token server on tokenPort of the registry host.
func initDeployment(t *testing.T, registryPort, tokenPort int) *deployment {
	t.Helper()

	host := env(t, "REGAUTH_E2E_HOST")
	dir := filepath.Join(t.TempDir(), "regauth")
	run(t, nil, env(t, "REGAUTH_BIN"), "init", "--dir", dir,
		"--host", host,
		"--registry-addr", ":"+strconv.Itoa(registryPort),
		"--token-addr", ":"+strconv.Itoa(tokenPort))

	return &deployment{
		dir:      dir,
		config:   filepath.Join(dir, "config.yaml"),
		registry: net.JoinHostPort(host, strconv.Itoa(registryPort)),
		caFile:   filepath.Join(dir, "pki", "ca.crt"),
	}
}

// startDeployment creates a deployment, then starts its token server and
// the registry binary registryBin (registry2 or registry3) with the
// configuration "regauth registry-config --host-paths" prints. It returns
// once both accept connections.
func startDeployment(t *testing.T, registryBin string, registryPort, tokenPort int) *deployment {
	t.Helper()

	d := initDeployment(t, registryPort, tokenPort)
	registryConfig := filepath.Join(d.dir, "registry-host.yml")
	config := d.regauth(t, "", "registry-config", "--host-paths")
	if err := os.WriteFile(registryConfig, []byte(config+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	host := env(t, "REGAUTH_E2E_HOST")
	tokenServer := startServer(t, "regauth serve", nil,
		env(t, "REGAUTH_BIN"), "serve", "--config", d.config)
	registry := startServer(t, filepath.Base(registryBin), registryEnv,
		registryBin, "serve", registryConfig)
	tokenServer.waitServing(t, net.JoinHostPort(host, strconv.Itoa(tokenPort)), d.caFile)
	registry.waitServing(t, d.registry, d.caFile)
	return d
}

// trustCA makes dockerd trust caFile for the registry at hostPort, until
// the test ends.
func trustCA(t *testing.T, hostPort, caFile string) {
	t.Helper()

	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dockerCertsDir, hostPort)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
}
