//go:build e2e

package e2e

// This file checks the token flow as a docker user lives it, against both
// registry generations: TLS trust through the CA regauth made, login, push
// and pull as the starter rules allow them, and anonymous access.

import (
	"testing"
)

// What the docker CLI says when it is refused. Its words come from the
// error code of the answer: UNAUTHORIZED from regauth for bad credentials,
// DENIED from the registry when a token lacks the access (the registry's
// insufficient_scope challenge never reaches the user as such).
var (
	badLogin     = []string{"unauthorized"}
	deniedAccess = []string{"requested access to the resource is denied"}
	untrustedTLS = []string{"x509: certificate signed by unknown authority"}
)

// TestDockerTokenFlow runs docker against regauth and a real registry of
// each generation.
func TestDockerTokenFlow(t *testing.T) {
	tests := []struct {
		name         string
		binEnv       string
		registryPort int
		tokenPort    int
	}{
		{name: "registry:2", binEnv: "REGISTRY2_BIN", registryPort: 15020, tokenPort: 15021},
		{name: "registry:3", binEnv: "REGISTRY3_BIN", registryPort: 15030, tokenPort: 15031},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := startDeployment(t, env(t, tc.binEnv), tc.registryPort, tc.tokenPort)
			testDockerTokenFlow(t, d)
		})
	}
}

func testDockerTokenFlow(t *testing.T, d *deployment) {
	d.addUser(t, "admin", "admin-secret")
	d.addUser(t, "alice", "alice-secret", "dev")
	d.addUser(t, "bob", "bob-secret", "ops")
	reg := d.registry
	alice := newDockerClient(t)

	// Docker verifies a registry outside 127.0.0.0/8 against its CA
	// bundle and certs.d: until the CA is trusted, nothing gets through.
	wantFailure(t, "login before the CA is trusted",
		alice.login(reg, "alice", "alice-secret"), untrustedTLS...)
	trustCA(t, reg, d.caFile)

	wantFailure(t, "login with a wrong password",
		alice.login(reg, "alice", "wrong-secret"), badLogin...)
	alice.mustLogin(t, reg, "alice", "alice-secret")

	// alice is in dev: she may push there, and not into ops.
	img := importImage(t, reg+"/dev/app:1", reg+"/ops/app:1")
	img.digest = alice.mustPush(t, reg+"/dev/app:1")
	wantFailure(t, "alice pushing to ops/", alice.try("", "push", reg+"/ops/app:1"),
		deniedAccess...)
	alice.mustPull(t, reg+"/dev/app:1", img)

	// bob is in ops, and dev/ is not his.
	bob := newDockerClient(t)
	bob.mustLogin(t, reg, "bob", "bob-secret")
	wantFailure(t, "bob pulling from dev/", bob.try("", "pull", reg+"/dev/app:1"),
		deniedAccess...)
	bob.must(t, "tag", img.id, reg+"/ops/app:1")
	bob.mustPush(t, reg+"/ops/app:1")

	// Anyone may pull public/, once admin has pushed there; nobody may
	// push without logging in.
	admin := newDockerClient(t)
	admin.mustLogin(t, reg, "admin", "admin-secret")
	admin.must(t, "tag", img.id, reg+"/public/app:1")
	public := img
	public.digest = admin.mustPush(t, reg+"/public/app:1")

	alice.must(t, "logout", reg)
	if _, auths, _ := alice.configFile(t); len(auths) != 0 {
		t.Fatalf("after docker logout, config.json still holds %d logins", len(auths))
	}
	alice.mustPull(t, reg+"/public/app:1", public)
	wantFailure(t, "anonymous push to public/", alice.try("", "push", reg+"/public/app:1"),
		deniedAccess...)
	alice.must(t, "tag", img.id, reg+"/dev/anonymous:1")
	wantFailure(t, "anonymous push to dev/", alice.try("", "push", reg+"/dev/anonymous:1"),
		deniedAccess...)
}
