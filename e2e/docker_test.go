//go:build e2e

package e2e

// This file drives the docker CLI against the shared private dockerd. Each
// client has a config folder of its own, so every account of a test logs
// in separately and nothing lands in root's ~/.docker.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dockerClient is the docker CLI with its own DOCKER_CONFIG folder.
type dockerClient struct {
	configDir string
}

// newDockerClient returns a client that is logged in nowhere. Its
// config.json names no credential store, and no credential helper that the
// CLI would pick by default may be installed: the tests read what docker
// login stores from config.json itself.
func newDockerClient(t *testing.T) *dockerClient {
	t.Helper()

	env(t, "DOCKER_HOST")
	for _, helper := range []string{"docker-credential-pass", "docker-credential-secretservice"} {
		if path, err := exec.LookPath(helper); err == nil {
			t.Fatalf("%s is installed: docker would keep logins there, not in config.json", path)
		}
	}
	dir := t.TempDir()
	config := []byte(`{"auths": {}}`)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	return &dockerClient{configDir: dir}
}

// try runs a docker command and returns its result, whether it failed or not.
func (c *dockerClient) try(stdin string, args ...string) result {
	return execute([]string{"DOCKER_CONFIG=" + c.configDir},
		strings.NewReader(stdin), "docker", args...)
}

// must runs a docker command that has to succeed and returns its stdout.
func (c *dockerClient) must(t *testing.T, args ...string) string {
	t.Helper()

	r := c.try("", args...)
	if r.err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), r.err, r.output())
	}
	return strings.TrimSpace(r.stdout)
}

// login runs docker login with the password on stdin.
func (c *dockerClient) login(registry, user, password string) result {
	return c.try(password+"\n", "login", "--username", user, "--password-stdin", registry)
}

// mustLogin logs in and fails the test if that does not work.
func (c *dockerClient) mustLogin(t *testing.T, registry, user, password string) {
	t.Helper()

	if r := c.login(registry, user, password); r.err != nil {
		t.Fatalf("docker login %s as %s: %v\n%s", registry, user, r.err, r.output())
	}
}

// pushDigestPattern finds the manifest digest in the last line of docker
// push ("1: digest: sha256:... size: 528").
var pushDigestPattern = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// mustPush pushes ref and returns the digest of the manifest it pushed.
func (c *dockerClient) mustPush(t *testing.T, ref string) string {
	t.Helper()

	out := c.must(t, "push", ref)
	m := pushDigestPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push %s printed no digest:\n%s", ref, out)
	}
	return m[1]
}

// mustPull pulls ref after removing every local copy of the image, so that
// the layers really come from the registry, and checks that the pulled
// image is the pushed one: same image id, and the pushed manifest digest.
func (c *dockerClient) mustPull(t *testing.T, ref string, want image) {
	t.Helper()

	removeImage(t, want.id)
	c.must(t, "pull", ref)

	var inspected []struct {
		ID          string `json:"Id"`
		RepoDigests []string
	}
	if err := json.Unmarshal([]byte(c.must(t, "image", "inspect", ref)), &inspected); err != nil {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	if len(inspected) != 1 {
		t.Fatalf("docker image inspect %s: %d images, want 1", ref, len(inspected))
	}
	got := inspected[0]
	if got.ID != want.id {
		t.Errorf("pulled %s has image id %s, want the pushed %s", ref, got.ID, want.id)
	}
	repo := ref[:strings.LastIndex(ref, ":")]
	if want.digest != "" && !slices.Contains(got.RepoDigests, repo+"@"+want.digest) {
		t.Errorf("pulled %s has repo digests %v, want %s@%s", ref, got.RepoDigests, repo, want.digest)
	}
}

// image is an image in dockerd, and the manifest digest it was pushed with.
type image struct {
	id     string
	digest string
}

// importImage makes a one-layer image with docker import, tagged as each of
// refs, and removes it when the test ends. The layer names the test, so
// images of different tests never share an id.
func importImage(t *testing.T, refs ...string) image {
	t.Helper()

	content := fmt.Sprintf("image of %s, made at %s\n", t.Name(), time.Now().Format(time.RFC3339Nano))
	id := run(t, layerTar(t, content), "docker", "import", "-", refs[0])
	t.Cleanup(func() { removeImage(t, id) })
	for _, ref := range refs[1:] {
		run(t, nil, "docker", "tag", id, ref)
	}
	return image{id: id}
}

// removeImage removes an image with every tag it has, if it exists.
func removeImage(t *testing.T, id string) {
	t.Helper()

	r := execute(nil, nil, "docker", "image", "rm", "--force", id)
	if r.err != nil && !strings.Contains(r.output(), "No such image") {
		t.Errorf("docker image rm %s: %v\n%s", id, r.err, r.output())
	}
}

// storedAuth is the entry docker login writes into config.json.
type storedAuth struct {
	Auth          string `json:"auth"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// configFile reads the client's config.json: what it stores per registry,
// and any credential store it names.
func (c *dockerClient) configFile(t *testing.T) (
	raw []byte, auths map[string]storedAuth, credsStore string) {
	t.Helper()

	raw, err := os.ReadFile(filepath.Join(c.configDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Auths      map[string]storedAuth `json:"auths"`
		CredsStore string                `json:"credsStore"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("config.json: %v\n%s", err, raw)
	}
	return raw, parsed.Auths, parsed.CredsStore
}

// wantFailure fails the test unless r failed and its output holds one of
// the phrases a refusal of the expected kind is reported with.
func wantFailure(t *testing.T, what string, r result, phrases ...string) {
	t.Helper()

	if err := refusedWith(phrases...)(r); err != nil {
		t.Errorf("%s: want it refused; %v", what, err)
		return
	}
	t.Logf("%s: refused in %.1fs: %s", what, r.took.Seconds(), r.output())
}

// refusedWith returns a judge for eventually that accepts a failure whose
// output holds one of phrases.
func refusedWith(phrases ...string) func(result) error {
	return func(r result) error {
		if r.err == nil {
			return fmt.Errorf("succeeded: %s", lastLine(r.output()))
		}
		out := strings.ToLower(r.output())
		for _, p := range phrases {
			if strings.Contains(out, p) {
				return nil
			}
		}
		return fmt.Errorf("failed, but without any of %q: %s", phrases, r.output())
	}
}

// succeeded is a judge for eventually that accepts a success.
func succeeded(r result) error {
	if r.err != nil {
		return fmt.Errorf("%v: %s", r.err, r.output())
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
