package testredis

import (
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRestart writes a key, restarts the server and looks for the key:
// an append-only server keeps it, a memory-only one comes back empty.
// Either way the server is back on the same address.
func TestRestart(t *testing.T) {
	tests := []struct {
		name     string
		opts     func(t *testing.T) Options
		wantKept bool
	}{
		{"memory only", func(*testing.T) Options { return Options{} }, false},
		{"append-only dir", func(t *testing.T) Options { return Options{Dir: t.TempDir()} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, tc.opts(t))
			addr := s.Addr()
			client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1})
			t.Cleanup(func() { client.Close() })
			if err := client.Set(t.Context(), "account", "alice", 0).Err(); err != nil {
				t.Fatal(err)
			}

			s.Restart(t)
			if s.Addr() != addr {
				t.Fatalf("restarted on %s, want %s", s.Addr(), addr)
			}
			got, err := client.Get(t.Context(), "account").Result()
			switch {
			case tc.wantKept && (err != nil || got != "alice"):
				t.Errorf("after restart: %q, %v; want the key kept", got, err)
			case !tc.wantKept && !errors.Is(err, redis.Nil):
				t.Errorf("after restart: %q, %v; want the key gone", got, err)
			}
		})
	}
}

// TestStop checks that a stopped server no longer answers, that stopping
// twice is harmless, and that a memory-only server leaves no directory.
func TestStop(t *testing.T) {
	s := Start(t, Options{})
	dir := s.dir
	s.Stop()
	s.Stop()

	client := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer client.Close()
	if err := client.Ping(t.Context()).Err(); err == nil {
		t.Error("PING answered after Stop")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s after Stop: %v, want it removed", dir, err)
	}
}

// TestFixedPort starts a server on a port the test chose.
func TestFixedPort(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, Options{Port: port})
	if want := "127.0.0.1:" + strconv.Itoa(port); s.Addr() != want {
		t.Errorf("Addr() = %s, want %s", s.Addr(), want)
	}
}

// TestShared checks that the tests of a package get one server, which
// Stop ends.
func TestShared(t *testing.T) {
	t.Setenv(Env, "") // this test is about the server Shared starts
	var sh Shared
	first := sh.Addr(t)
	if again := sh.Addr(t); again != first {
		t.Fatalf("second Addr = %s, want the shared %s", again, first)
	}
	sh.Stop()

	client := redis.NewClient(&redis.Options{Addr: first, MaxRetries: -1})
	defer client.Close()
	if err := client.Ping(t.Context()).Err(); err == nil {
		t.Error("PING answered after Stop")
	}
}
