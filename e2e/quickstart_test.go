//go:build e2e

package e2e

// This file checks "regauth quickstart" the way the README tells a newcomer
// to use it: one process, the admin password from its file, the CA
// trusted, then docker.

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestQuickstart runs the all-in-one quickstart in the namespace and uses
// it as admin and as a user added afterwards.
func TestQuickstart(t *testing.T) {
	host := env(t, "REGAUTH_E2E_HOST")
	reg := net.JoinHostPort(host, strconv.Itoa(15070))
	dir := filepath.Join(t.TempDir(), "quickstart")
	d := &deployment{
		dir:      dir,
		config:   filepath.Join(dir, "config.yaml"),
		registry: reg,
		caFile:   filepath.Join(dir, "pki", "ca.crt"),
	}

	qs := startServer(t, "regauth quickstart", registryEnv, env(t, "REGAUTH_BIN"),
		"quickstart", "--dir", dir, "--addr", reg, "--host", host)
	qs.waitServing(t, reg, d.caFile)
	password, err := os.ReadFile(filepath.Join(dir, "admin-password"))
	if err != nil {
		t.Fatalf("quickstart listens but left no admin password: %v", err)
	}
	trustCA(t, reg, d.caFile)

	// admin may do anything; what it pushes comes back the same.
	admin := newDockerClient(t)
	admin.mustLogin(t, reg, "admin", strings.TrimSpace(string(password)))
	img := importImage(t, reg+"/admin/app:1")
	img.digest = admin.mustPush(t, reg+"/admin/app:1")
	admin.mustPull(t, reg+"/admin/app:1", img)

	// A user added with the command line, while quickstart runs, gets
	// what the starter rules give team dev, and not admin's repositories.
	d.addUser(t, "alice", "alice-secret", "dev")
	alice := newDockerClient(t)
	eventually(t, liveChangeTimeout, "alice's login after user add",
		func() result { return alice.login(reg, "alice", "alice-secret") }, succeeded)
	alice.must(t, "tag", img.id, reg+"/dev/x:1")
	alice.mustPush(t, reg+"/dev/x:1")
	alice.must(t, "tag", img.id, reg+"/admin/other:1")
	wantFailure(t, "alice pushing to admin/", alice.try("", "push", reg+"/admin/other:1"),
		deniedAccess...)
}
