package throttle

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var testPolicy = Policy{Window: time.Minute, AccountLimit: 3, AddressLimit: 5}

// attempt is one step of a scenario: a failure or success to record, or a
// check that the next attempt must (or need not) wait.
type attempt struct {
	account, address string
	fail, succeed    bool
	wantWait         bool
}

func TestLimiter(t *testing.T) {
	tests := []struct {
		name  string
		steps []attempt
	}{
		{"first attempt goes ahead", []attempt{
			{account: "alice", address: "10.0.0.1"},
		}},
		{"an account waits after its limit", []attempt{
			{account: "alice", address: "10.0.0.1", fail: true},
			{account: "alice", address: "10.0.0.2", fail: true},
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.3", fail: true},
			{account: "alice", address: "10.0.0.9", wantWait: true},
		}},
		{"a success forgets the account's failures", []attempt{
			{account: "alice", address: "10.0.0.1", fail: true},
			{account: "alice", address: "10.0.0.1", fail: true},
			{account: "alice", address: "10.0.0.1", succeed: true},
			{account: "alice", address: "10.0.0.1", fail: true},
			{account: "alice", address: "10.0.0.1", fail: true},
			{account: "alice", address: "10.0.0.1"},
		}},
		{"a spraying address waits for accounts that failed", []attempt{
			{account: "a1", address: "10.0.0.66", fail: true},
			{account: "a2", address: "10.0.0.66", fail: true},
			{account: "a3", address: "10.0.0.66", fail: true},
			{account: "a4", address: "10.0.0.66", fail: true},
			{account: "a5", address: "10.0.0.66", fail: true},
			{account: "a1", address: "10.0.0.66", wantWait: true},
		}},
		{"a colleague behind the sprayer's address is not blocked", []attempt{
			{account: "a1", address: "10.0.0.66", fail: true},
			{account: "a2", address: "10.0.0.66", fail: true},
			{account: "a3", address: "10.0.0.66", fail: true},
			{account: "a4", address: "10.0.0.66", fail: true},
			{account: "a5", address: "10.0.0.66", fail: true},
			{account: "bob", address: "10.0.0.66"},
		}},
		{"failures of another account never block", []attempt{
			{account: "mallory", address: "10.0.0.1", fail: true},
			{account: "mallory", address: "10.0.0.1", fail: true},
			{account: "mallory", address: "10.0.0.1", fail: true},
			{account: "mallory", address: "10.0.0.1", wantWait: true},
			{account: "alice", address: "10.0.0.1"},
		}},
	}
	for _, tt := range tests {
		for name, counter := range counters(t) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx := context.Background()
				l := New(testPolicy, counter)
				for i, s := range tt.steps {
					runStep(ctx, t, l, i, s)
				}
			})
		}
	}
}

func runStep(ctx context.Context, t *testing.T, l *Limiter, i int, s attempt) {
	t.Helper()
	switch {
	case s.fail:
		if err := l.Failed(ctx, s.account, s.address); err != nil {
			t.Fatalf("step %d: Failed: %v", i, err)
		}
	case s.succeed:
		if err := l.Succeeded(ctx, s.account); err != nil {
			t.Fatalf("step %d: Succeeded: %v", i, err)
		}
	default:
		wait, err := l.Wait(ctx, s.account, s.address)
		if err != nil {
			t.Fatalf("step %d: Wait: %v", i, err)
		}
		if (wait > 0) != s.wantWait {
			t.Fatalf("step %d: %s from %s waits %v, want waiting %v", i, s.account, s.address, wait, s.wantWait)
		}
		if wait > testPolicy.Window {
			t.Fatalf("step %d: wait %v is longer than the window %v", i, wait, testPolicy.Window)
		}
	}
}

// counters returns a fresh counter of each kind: in memory always, in
// Redis when REGAUTH_TEST_REDIS names a server (the test script starts
// one), each on a database emptied for the test.
func counters(t *testing.T) map[string]Counter {
	t.Helper()
	out := map[string]Counter{"memory": NewMemory(nil)}
	addr := os.Getenv("REGAUTH_TEST_REDIS")
	if addr == "" {
		return out
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("REGAUTH_TEST_REDIS=%q: %v", addr, err)
	}
	client := redis.NewClient(&redis.Options{Addr: addr, DB: 7})
	t.Cleanup(func() { client.Close() })
	if err := client.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush redis: %v", err)
	}
	out["redis"] = NewRedis(client)
	return out
}

func TestMemoryWindowEnds(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := New(testPolicy, NewMemory(clock.now))
	ctx := context.Background()
	for range testPolicy.AccountLimit {
		if err := l.Failed(ctx, "alice", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	wait, _ := l.Wait(ctx, "alice", "10.0.0.1")
	if wait != testPolicy.Window {
		t.Fatalf("wait right after the failures = %v, want the whole window %v", wait, testPolicy.Window)
	}
	clock.advance(testPolicy.Window / 2)
	if wait, _ := l.Wait(ctx, "alice", "10.0.0.1"); wait != testPolicy.Window/2 {
		t.Fatalf("wait half way = %v, want %v", wait, testPolicy.Window/2)
	}
	clock.advance(testPolicy.Window / 2)
	if wait, _ := l.Wait(ctx, "alice", "10.0.0.1"); wait != 0 {
		t.Fatalf("wait after the window = %v, want 0", wait)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m := NewMemory(nil)
	ctx := context.Background()
	for i := range maxMemoryKeys + 100 {
		if err := m.Add(ctx, time.Minute, "account:"+string(rune('a'+i%26))+time.Duration(i).String()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.wins); n > maxMemoryKeys {
		t.Fatalf("memory counter holds %d keys, more than its bound %d", n, maxMemoryKeys)
	}
}
