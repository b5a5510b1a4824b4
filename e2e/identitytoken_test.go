//go:build e2e

package e2e

// This file checks the refresh tokens of docs/tokens.md as docker uses
// them: docker login keeps a refresh token ("identitytoken") instead of the
// password, the daemon works with it alone, and a password change ends it.

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestIdentityToken logs in with docker against registry:2 and follows the
// identity token through push, pull and a password change.
func TestIdentityToken(t *testing.T) {
	d := startDeployment(t, env(t, "REGISTRY2_BIN"), 15050, 15051)
	reg := d.registry
	trustCA(t, reg, d.caFile)
	d.addUser(t, "alice", "first-secret", "dev")
	img := importImage(t, reg+"/dev/app:1")
	alice := newDockerClient(t)

	// docker login stores a refresh token, not the password.
	alice.mustLogin(t, reg, "alice", "first-secret")
	firstToken := wantIdentityToken(t, alice, reg, "alice", "first-secret")

	// The daemon pushes and pulls with the refresh token alone.
	img.digest = alice.mustPush(t, reg+"/dev/app:1")
	alice.mustPull(t, reg+"/dev/app:1", img)

	// A new password ends the refresh token: docker is refused until it
	// logs in again, with the new password.
	d.regauth(t, "second-secret\n", "user", "passwd", "alice", "--password-stdin")
	eventually(t, liveChangeTimeout, "push with the old identity token",
		func() result { return alice.try("", "push", reg+"/dev/app:1") },
		refusedWith(badLogin...))
	wantFailure(t, "login with the old password",
		alice.login(reg, "alice", "first-secret"), badLogin...)
	alice.mustLogin(t, reg, "alice", "second-secret")
	secondToken := wantIdentityToken(t, alice, reg, "alice", "second-secret")
	if secondToken == firstToken {
		t.Error("the login after the password change stored the old identity token")
	}
	alice.mustPush(t, reg+"/dev/app:1")
}

// wantIdentityToken checks what docker login stored for registry in the
// client's config.json: an identity token, and the user name without the
// password, in no field and no encoding. It returns the identity token.
func wantIdentityToken(t *testing.T, c *dockerClient, registry, user, password string) string {
	t.Helper()

	raw, auths, credsStore := c.configFile(t)
	if credsStore != "" {
		t.Fatalf("config.json names credential store %q; the test needs logins in the file", credsStore)
	}
	entry, ok := auths[registry]
	if !ok {
		t.Fatalf("config.json has no entry for %s after docker login:\n%s", registry, raw)
	}
	if entry.IdentityToken == "" {
		t.Errorf("config.json entry for %s has no identitytoken:\n%s", registry, raw)
	}
	if entry.Password != "" {
		t.Errorf("config.json entry for %s has a password field", registry)
	}

	// The CLI keeps "user:" in auth when it has an identity token.
	if entry.Auth != "" {
		decoded, err := base64.StdEncoding.DecodeString(entry.Auth)
		if err != nil {
			t.Errorf("auth of %s is not base64: %v", registry, err)
		}
		if got, want := string(decoded), user+":"; got != want {
			t.Errorf("auth of %s decodes to %d bytes other than %q", registry, len(got), want)
		}
	}
	encoded := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if strings.Contains(string(raw), password) || strings.Contains(string(raw), encoded) {
		t.Errorf("config.json holds %s's password after docker login", user)
	}
	return entry.IdentityToken
}
