//go:build e2e

package e2e

// This file runs the programs under test: one-shot commands on this host,
// and the long-running servers inside the network namespace, where they
// listen on the registry host address.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a server may take to accept connections.
	startTimeout = 30 * time.Second
	// stopTimeout is how long a server gets to exit after SIGTERM before
	// its whole process group is killed.
	stopTimeout = 10 * time.Second
	// logTailLines is how much of a server's output a failed test shows.
	logTailLines = 40
)

// result is what a finished command left behind.
type result struct {
	stdout string
	stderr string
	err    error
	took   time.Duration
}

// output is stdout and stderr together, for matching client messages that
// may land on either.
func (r result) output() string {
	return strings.TrimSpace(r.stdout + "\n" + r.stderr)
}

// execute runs a command bounded by commandTimeout, with extra environment
// variables on top of this process's, and returns what it printed. Unlike
// run it does not judge the outcome: tests use it for commands that must
// fail.
func execute(extraEnv []string, stdin io.Reader, name string, args ...string) result {
	// Not the test's context: cleanups run commands after it is canceled.
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = environ(extraEnv)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w after %s", ctx.Err(), commandTimeout)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err,
		took: time.Since(start)}
}

// clientOnlyEnv are variables scripts/test.sh exports for the clients that
// the programs under test must not see. REGISTRY_AUTH_FILE is where skopeo
// keeps logins, but distribution's configuration parser also reads every
// REGISTRY_* variable as an override of the registry config
// (REGISTRY_AUTH_FILE as "auth: file:"), so a registry that inherits it
// refuses to start. Tests that run skopeo pass it explicitly.
//
// NOTE(e2e): regauth itself should not care, but it validates the registry
// config it writes with that same parser, in its own environment: see
// TestRegistryConfigInClientEnvironment. The other tests keep the variable
// from regauth too, so that they test what they are about.
var clientOnlyEnv = []string{"REGISTRY_AUTH_FILE"}

// environ returns this process's environment less clientOnlyEnv, plus
// extra.
func environ(extra []string) []string {
	var vars []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(clientOnlyEnv, name) {
			vars = append(vars, kv)
		}
	}
	return append(vars, extra...)
}

// server is a long-running process a test started inside the network
// namespace. Its output is kept so that a failed test can show it.
type server struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the exit status, once done is closed
}

// startServer starts bin with args inside the namespace of scripts/test.sh,
// in a process group of its own. When the test ends the group is stopped,
// and if the test failed the end of the server's output is logged.
func startServer(t *testing.T, name string, extraEnv []string, bin string, args ...string) *server {
	t.Helper()

	netns := env(t, "REGAUTH_E2E_NETNS")
	// "ip netns exec" execs the program in place, so the pid is the
	// server's own and the group holds whatever it forks.
	cmd := exec.Command("ip", append([]string{"netns", "exec", netns, bin}, args...)...)
	cmd.Env = environ(extraEnv)
	// Pdeathsig: a test binary killed outright must not leave servers
	// holding ports for the next run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s := &server{name: name, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log

	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("last lines of the %s log:\n%s", name, s.log.tail(logTailLines))
		}
	})
	return s
}

// stop sends SIGTERM to the server's process group, then SIGKILL if it
// has not exited within stopTimeout.
func (s *server) stop(t *testing.T) {
	t.Helper()

	group := -s.cmd.Process.Pid
	_ = syscall.Kill(group, syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(stopTimeout):
	}
	t.Errorf("%s did not exit within %s of SIGTERM; killing it", s.name, stopTimeout)
	_ = syscall.Kill(group, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		t.Errorf("%s survived SIGKILL", s.name)
	}
}

// waitServing waits until the server completes a TLS handshake on addr
// from this host, with a certificate valid for addr's host under the CA in
// caFile, which the server may still be creating. It fails early if the
// server exits first or its certificate is not trusted. A complete
// handshake, unlike a bare TCP probe, leaves no "TLS handshake error" in
// the server's log.
func (s *server) waitServing(t *testing.T, addr, caFile string) {
	t.Helper()

	deadline := time.Now().Add(startTimeout)
	for {
		err := handshake(addr, caFile)
		if err == nil {
			return
		}
		var untrusted *tls.CertificateVerificationError
		if errors.As(err, &untrusted) {
			t.Fatalf("%s on %s: %v", s.name, addr, err)
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited before serving on %s: %v\n%s",
				s.name, addr, s.err, s.log.tail(logTailLines))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not serving on %s after %s: %v\n%s",
				s.name, addr, startTimeout, err, s.log.tail(logTailLines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// handshake makes one TLS connection to addr, verifying the server against
// the CA in caFile, and closes it.
func handshake(addr, caFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return fmt.Errorf("%s holds no PEM certificate", caFile)
	}

	dialer := &net.Dialer{Timeout: time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: host})
	if err != nil {
		return err
	}
	return conn.Close()
}

// syncBuffer is a bytes.Buffer that a process's stdout and stderr may
// write to while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n lines written.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()

	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually repeats attempt until judge accepts its result, and fails the
// test with the last result if that has not happened within timeout. The
// pause between attempts doubles up to a second: an attempt that makes a
// failed login must not reach regauth's limit of 10 failures per account
// while the test waits.
func eventually(t *testing.T, timeout time.Duration, what string,
	attempt func() result, judge func(result) error) {
	t.Helper()

	start := time.Now()
	deadline := start.Add(timeout)
	pause := 100 * time.Millisecond
	for n := 1; ; n++ {
		r := attempt()
		err := judge(r)
		if err == nil {
			t.Logf("%s: after %d attempt(s) in %.1fs: %s",
				what, n, time.Since(start).Seconds(), r.output())
			return
		}
		if time.Now().Add(pause).After(deadline) {
			t.Fatalf("%s: not within %s (%d attempts); last: %v", what, timeout, n, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
	}
}
