//go:build e2e

package e2e

// This file checks that regauth's commands work in the environment of a
// machine that also runs container clients.

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistryConfigInClientEnvironment runs the commands that write a
// registry configuration with REGISTRY_AUTH_FILE set, as it is wherever
// podman, buildah or skopeo keep their logins in a file of their choice.
// The variable is theirs; it says nothing about the registry regauth
// configures, so it must not make init or registry-config fail.
func TestRegistryConfigInClientEnvironment(t *testing.T) {
	authFile := []string{"REGISTRY_AUTH_FILE=" + filepath.Join(t.TempDir(), "auth.json")}
	dir := filepath.Join(t.TempDir(), "regauth")
	regauth := env(t, "REGAUTH_BIN")

	tests := []struct {
		name string
		args []string
	}{
		{name: "init", args: []string{"init", "--dir", dir, "--host", env(t, "REGAUTH_E2E_HOST")}},
		{name: "registry-config", args: []string{"registry-config", "--host-paths",
			"--config", filepath.Join(dir, "config.yaml")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(authFile, nil, regauth, tc.args...)
			if r.err != nil {
				t.Fatalf("regauth %s with %s: %v\n%s",
					strings.Join(tc.args, " "), authFile[0], r.err, r.output())
			}
		})
	}
}
