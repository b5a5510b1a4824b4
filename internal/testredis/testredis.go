// Package testredis starts throwaway redis-server processes for tests.
//
// A server listens on 127.0.0.1 only, runs in a process group of its own
// and is stopped when the test that started it ends. Tests that can use
// any Redis first take the one scripts/test.sh names in REGAUTH_TEST_REDIS
// (see Addr and Shared); tests that stop and restart the server, or need
// it to themselves, always start their own with Start.
package testredis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Env names the environment variable in which scripts/test.sh passes the
// address (host:port) of the redis-server it runs for the whole test run.
// Packages share that server, so each keeps to a database of its own.
const Env = "REGAUTH_TEST_REDIS"

// ErrNotInstalled is returned by Launch when there is no redis-server on
// the PATH.
var ErrNotInstalled = errors.New(
	"redis-server is not installed (Debian package redis-server)")

const (
	// readyTimeout bounds the wait for a new server to answer PING.
	readyTimeout = 20 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// portAttempts bounds the retries when another process takes the free
	// port between choosing it and the server binding it.
	portAttempts = 3
	logName      = "redis-server.log"
)

// Options says how to run a server.
type Options struct {
	// Dir is where the server keeps its data, with append-only
	// persistence, so that Restart brings the data back. Empty means
	// memory only, with the log in a temporary directory that Stop
	// removes.
	Dir string

	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
}

// Server is a redis-server child process on 127.0.0.1.
type Server struct {
	bin    string
	opts   Options
	port   int
	dir    string // the running process's files; a temp dir when opts.Dir is empty
	cmd    *exec.Cmd
	exited chan struct{}
}

// Installed reports whether redis-server is on the PATH.
func Installed() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Launch starts a server and waits until it answers. The caller must Stop
// it; tests use Start, which does so when the test ends. Launch is for
// servers that outlive a single test, such as Shared's.
func Launch(opts Options) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	if opts.Port != 0 {
		s := &Server{bin: bin, opts: opts, port: opts.Port}
		if err := s.run(); err != nil {
			return nil, err
		}
		return s, nil
	}

	for range portAttempts {
		s := &Server{bin: bin, opts: opts}
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		if err = s.run(); err == nil {
			return s, nil
		}
	}
	return nil, err
}

// Start starts a server for the rest of the test, skipping the test when
// redis-server is not installed. When the test ends the server is
// stopped, after its log is shown if the test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Launch(opts)
	if errors.Is(err, ErrNotInstalled) {
		t.Skipf("%v; scripts/test.sh installs it", err)
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			s.showLog(t)
		}
		s.Stop()
	})
	return s
}

// Addr returns the address of a Redis for the test: the one named in Env,
// or else a memory-only server started for the rest of the test. Without
// either the test is skipped.
func Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv(Env); addr != "" {
		return addr
	}
	skipUnlessInstalled(t)
	return Start(t, Options{}).Addr()
}

// Shared is one Redis for all the tests of a package: the one named in
// Env, or else a memory-only server that the first test asking for it
// starts and TestMain stops with Stop once the tests have run. The zero
// value is ready to use.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Addr returns the address of the shared Redis, starting the server on
// the first call. Without Env and redis-server the test is skipped; a
// server that failed to start fails every test that asks for it.
func (sh *Shared) Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv(Env); addr != "" {
		return addr
	}
	skipUnlessInstalled(t)
	sh.once.Do(func() { sh.srv, sh.err = Launch(Options{}) })
	if sh.err != nil {
		t.Fatalf("start redis-server: %v", sh.err)
	}
	return sh.srv.Addr()
}

// Stop stops the shared server, if a test started one.
func (sh *Shared) Stop() {
	if sh.srv != nil {
		sh.srv.Stop()
	}
}

// skipUnlessInstalled skips a test that could have used the server in
// Env, naming both ways to run it.
func skipUnlessInstalled(t testing.TB) {
	t.Helper()
	if !Installed() {
		t.Skipf("%s is not set and %v; scripts/test.sh provides both",
			Env, ErrNotInstalled)
	}
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop stops the server and waits until it is gone. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}

	// The whole group, in case the server forked a child to rewrite its
	// append-only file. SIGTERM lets it flush that file first.
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
	s.removeTempDir(s.dir)
}

// Restart stops the server if it runs and starts it again on the same
// port and, with Options.Dir, over the same data. A memory-only server
// comes back empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.run(); err != nil {
		t.Fatalf("restart redis-server on %s: %v", s.Addr(), err)
	}
}

// run starts the process on s.port and waits until it answers.
func (s *Server) run() error {
	dir, err := s.workDir()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, logName),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open redis-server log: %w", err)
	}
	defer logFile.Close()

	appendOnly := "no"
	if s.opts.Dir != "" {
		appendOnly = "yes"
	}
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--dir", dir, "--save", "", "--appendonly", appendOnly, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.removeTempDir(dir)
		return fmt.Errorf("start redis-server: %w", err)
	}

	s.cmd, s.dir, s.exited = cmd, dir, make(chan struct{})
	go func(exited chan<- struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.exited)

	if err := s.waitReady(); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// workDir returns Options.Dir, or a new temporary directory for a
// memory-only server.
func (s *Server) workDir() (string, error) {
	if s.opts.Dir != "" {
		return s.opts.Dir, nil
	}
	dir, err := os.MkdirTemp("", "regauth-redis-")
	if err != nil {
		return "", fmt.Errorf("redis-server directory: %w", err)
	}
	return dir, nil
}

// removeTempDir removes the directory of a memory-only server, which
// holds nothing but its log.
func (s *Server) removeTempDir(dir string) {
	if s.opts.Dir == "" {
		_ = os.RemoveAll(dir)
	}
}

// showLog logs what the running server wrote, for a failed test.
func (s *Server) showLog(t testing.TB) {
	if s.cmd == nil && s.opts.Dir == "" {
		return // the log went with the stopped server's temporary directory
	}
	log, err := os.ReadFile(filepath.Join(s.dir, logName))
	if err != nil {
		t.Logf("redis-server log: %v", err)
		return
	}
	t.Logf("--- log of redis-server on %s:\n%s", s.Addr(), log)
}

// waitReady polls PING until the server answers, it exits, or
// readyTimeout passes.
func (s *Server) waitReady() error {
	client := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1,
		DialTimeout: time.Second})
	defer client.Close()

	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}

		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, logName))
			return fmt.Errorf("redis-server on %s exited at start:\n%s", s.Addr(), log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not answering after %v: %w",
				s.Addr(), readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback port that nothing listened on a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}
