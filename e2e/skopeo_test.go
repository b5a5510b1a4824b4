//go:build e2e

package e2e

// This file checks robot accounts as a CI job uses them: a secret made by
// "regauth robot add", handed to skopeo, limited by the rules like anyone,
// and stopped by "regauth user disable".

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// skopeoClient runs skopeo with its own auth file and a folder holding the
// CA that it is to trust, instead of the system-wide certs.d.
type skopeoClient struct {
	authFile string
	certDir  string
}

func newSkopeoClient(t *testing.T, caFile string) *skopeoClient {
	t.Helper()

	dir := t.TempDir()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	return &skopeoClient{authFile: filepath.Join(dir, "auth.json"), certDir: certDir}
}

func (c *skopeoClient) try(args ...string) result {
	return execute([]string{"REGISTRY_AUTH_FILE=" + c.authFile}, nil, "skopeo", args...)
}

// copy copies the docker-archive at archive to ref with creds, writing the
// digest of the manifest it pushed to digestFile.
func (c *skopeoClient) copy(creds, archive, ref, digestFile string) result {
	return c.try("copy", "--dest-creds", creds, "--dest-cert-dir", c.certDir,
		"--digestfile", digestFile, "docker-archive:"+archive, "docker://"+ref)
}

// TestSkopeoRobot pushes and inspects with skopeo as a robot account of
// team dev, against registry:3.
func TestSkopeoRobot(t *testing.T) {
	d := startDeployment(t, env(t, "REGISTRY3_BIN"), 15060, 15061)
	reg := d.registry
	work := t.TempDir()
	skopeo := newSkopeoClient(t, d.caFile)

	out := d.regauth(t, "", "robot", "add", "ci", "--team", "dev", "--expires", "1d")
	secret := robotSecret(t, out)
	creds := "ci:" + secret
	d.waitForAccount(t, "ci", secret)

	img := importImage(t, "regauth-e2e/robot:1")
	archive := filepath.Join(work, "robot.tar")
	run(t, nil, "docker", "save", "--output", archive, img.id)

	// The robot pushes into its team's namespace, and reads it back.
	digestFile := filepath.Join(work, "digest")
	if r := skopeo.copy(creds, archive, reg+"/dev/robot:1", digestFile); r.err != nil {
		t.Fatalf("skopeo copy to dev/ as the robot: %v\n%s", r.err, r.output())
	}
	pushed, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	inspected := skopeo.try("inspect", "--creds", creds, "--cert-dir", skopeo.certDir,
		"docker://"+reg+"/dev/robot:1")
	if inspected.err != nil {
		t.Fatalf("skopeo inspect dev/robot:1 as the robot: %v\n%s", inspected.err, inspected.output())
	}
	var manifest struct{ Digest string }
	if err := json.Unmarshal([]byte(inspected.stdout), &manifest); err != nil {
		t.Fatalf("skopeo inspect printed no JSON: %v\n%s", err, inspected.stdout)
	}
	if got, want := manifest.Digest, strings.TrimSpace(string(pushed)); got != want {
		t.Errorf("skopeo inspect dev/robot:1: digest %s, want the pushed %s", got, want)
	}

	// The rules limit a robot like anyone: ops/ is not its team's.
	wantFailure(t, "robot copy to ops/",
		skopeo.copy(creds, archive, reg+"/ops/robot:1", digestFile), deniedAccess...)

	// A disabled robot is refused at once, not when its token expires.
	d.regauth(t, "", "user", "disable", "ci")
	eventually(t, liveChangeTimeout, "copy by the disabled robot",
		func() result { return skopeo.copy(creds, archive, reg+"/dev/robot:2", digestFile) },
		refusedWith(badLogin...))
}

// robotSecret finds the secret in what "regauth robot add" printed: the
// line after the one that announces it.
func robotSecret(t *testing.T, out string) string {
	t.Helper()

	lines := strings.Split(out, "\n")
	for i, line := range lines[:len(lines)-1] {
		if strings.HasPrefix(line, "secret") {
			if secret := strings.TrimSpace(lines[i+1]); secret != "" {
				return secret
			}
		}
	}
	t.Fatalf("no secret in the output of regauth robot add:\n%s", out)
	return ""
}
