//go:build e2e

// Package e2e holds the end-to-end tests: regauth in front of the real
// registry:2 and registry:3 code, driven by real clients (a private dockerd,
// skopeo). They need root and the environment scripts/test.sh builds, so run
// them through that script rather than with a bare "go test".
package e2e

// This file checks the environment itself. A broken dockerd or network
// namespace then fails here, once and by name, instead of showing up as
// puzzling failures in every flow test.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// listenerEnv, when set, turns the test binary into the listener that
// TestSmokeRegistryHost starts inside the network namespace.
const listenerEnv = "REGAUTH_E2E_SMOKE_LISTEN_HOST"

// commandTimeout bounds every external command a smoke test runs.
const commandTimeout = 60 * time.Second

// TestSmokeBinaries checks that the binaries under test exist and that the
// two registries are the upstream versions the tests are meant to cover.
func TestSmokeBinaries(t *testing.T) {
	info, err := os.Stat(env(t, "REGAUTH_BIN"))
	if err != nil || info.Mode().Perm()&0o111 == 0 {
		t.Fatalf("REGAUTH_BIN is not an executable file: %v", err)
	}

	tests := []struct {
		name    string
		binEnv  string
		version string
	}{
		{name: "registry2", binEnv: "REGISTRY2_BIN", version: " v2.8.3"},
		{name: "registry3", binEnv: "REGISTRY3_BIN", version: " v3."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, nil, env(t, tc.binEnv), "--version")
			if !strings.Contains(out, tc.version) {
				t.Errorf("%s --version = %q, want it to contain %q",
					tc.name, out, tc.version)
			}
		})
	}
}

// TestSmokeDockerDaemon checks that the private dockerd answers and can make
// an image from a tarball: the machine has no registry to pull from, so that
// is how the flow tests get images to push.
func TestSmokeDockerDaemon(t *testing.T) {
	env(t, "DOCKER_HOST")

	server := run(t, nil, "docker", "version", "--format", "{{.Server.Version}}")
	if server == "" {
		t.Fatal("docker version reported no server version")
	}
	t.Logf("dockerd %s", server)

	ref := fmt.Sprintf("regauth-e2e/smoke:%d", time.Now().UnixNano())
	run(t, layerTar(t, "regauth end-to-end smoke test\n"), "docker", "import", "-", ref)
	t.Cleanup(func() { run(t, nil, "docker", "image", "rm", ref) })

	layers := run(t, nil, "docker", "image", "inspect",
		"--format", "{{len .RootFS.Layers}}", ref)
	if layers != "1" {
		t.Errorf("imported image has %s layers, want 1", layers)
	}
}

// TestSmokeRegistryHost checks that the registry host of the flow tests is a
// non-loopback address that lives only inside the network namespace, and
// that this host reaches it. Docker skips TLS verification for loopback
// registries, so only such an address really tests the CA and the IP
// subjectAltName of the registry certificate.
func TestSmokeRegistryHost(t *testing.T) {
	host := env(t, "REGAUTH_E2E_HOST")
	netns := env(t, "REGAUTH_E2E_NETNS")

	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() {
		t.Fatalf("REGAUTH_E2E_HOST=%q, want a non-loopback IP address", host)
	}
	if hostHasAddress(t, ip) {
		t.Fatalf("%s is assigned on this host; it must live only in netns %s",
			host, netns)
	}

	addr := startListenerInNetns(t, netns, host)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial the listener in netns %s: %v", netns, err)
	}
	defer conn.Close()

	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || reply != "ok\n" {
		t.Fatalf("listener in netns %s replied %q, %v; want \"ok\\n\"", netns, reply, err)
	}
}

// TestSmokeListenerHelper is not a test of its own: TestSmokeRegistryHost
// runs the test binary again inside the network namespace with listenerEnv
// set, and this function then serves a single connection there.
func TestSmokeListenerHelper(t *testing.T) {
	host := os.Getenv(listenerEnv)
	if host == "" {
		t.Skip("helper process of TestSmokeRegistryHost")
	}
	if err := serveOnce(host); err != nil {
		fmt.Fprintln(os.Stderr, "smoke listener:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveOnce listens on an ephemeral port of host, prints the address as the
// first line of stdout, answers one connection with "ok" and returns.
func serveOnce(host string) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr())

	// The parent kills this process when it is done, but a listener that
	// nobody dials must not outlive a test run that was interrupted.
	if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(commandTimeout)); err != nil {
		return err
	}
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "ok\n")
	return err
}

// startListenerInNetns starts serveOnce inside netns and returns the address
// it listens on. The process is killed when the test ends.
func startListenerInNetns(t *testing.T, netns, host string) string {
	t.Helper()

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", netns,
		self, "-test.run=^TestSmokeListenerHelper$")
	cmd.Env = append(os.Environ(), listenerEnv+"="+host)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start listener in netns %s: %v", netns, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	return firstLine(t, stdout, 15*time.Second)
}

// firstLine reads one line from r, failing the test if none arrives within
// timeout.
func firstLine(t *testing.T, r io.Reader, timeout time.Duration) string {
	t.Helper()

	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(r)
		if scanner.Scan() {
			lines <- scanner.Text()
		}
	}()

	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("listener exited before printing its address")
		}
		return line
	case <-time.After(timeout):
		t.Fatalf("listener printed no address within %s", timeout)
		return ""
	}
}

// hostHasAddress reports whether ip is assigned to an interface of the
// network namespace this test runs in.
func hostHasAddress(t *testing.T, ip net.IP) bool {
	t.Helper()

	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		if prefix, ok := addr.(*net.IPNet); ok && prefix.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// env returns a variable that scripts/test.sh exports, failing the test when
// it is missing: without it the test cannot check anything.
func env(t *testing.T, name string) string {
	t.Helper()

	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set; run the end-to-end tests through scripts/test.sh", name)
	}
	return value
}

// run runs a command with stdin, bounded by commandTimeout, and returns its
// trimmed stdout. A failure fails the test and shows the command's output.
func run(t *testing.T, stdin io.Reader, name string, args ...string) string {
	t.Helper()

	r := execute(nil, stdin, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r.output())
	}
	return strings.TrimSpace(r.stdout)
}

// layerTar returns a tar archive holding one small file with content,
// enough for "docker import" to make a one-layer image.
func layerTar(t *testing.T, text string) io.Reader {
	t.Helper()

	content := []byte(text)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	header := &tar.Header{
		Name:    "smoke.txt",
		Mode:    0o644,
		Size:    int64(len(content)),
		ModTime: time.Unix(0, 0),
	}
	if err := tw.WriteHeader(header); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}
