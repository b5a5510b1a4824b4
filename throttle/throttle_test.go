package throttle

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var testPolicy = Policy{Window: time.Minute, AccountLimit: 3, AddressLimit: 5, MaxInFlight: 4}

// attempt is one sign-in of a scenario: its password is right or wrong,
// and it must or must not be told to wait.
type attempt struct {
	account, address string
	right            bool
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
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.2"},
			{account: "alice", address: "10.0.0.3"},
			{account: "alice", address: "10.0.0.9", right: true, wantWait: true},
		}},
		{"a success forgets the account's failures", []attempt{
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.1", right: true},
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.1"},
			{account: "alice", address: "10.0.0.1", wantWait: true},
		}},
		{"a spraying address waits for accounts that failed", []attempt{
			{account: "a1", address: "10.0.0.66"},
			{account: "a2", address: "10.0.0.66"},
			{account: "a3", address: "10.0.0.66"},
			{account: "a4", address: "10.0.0.66"},
			{account: "a5", address: "10.0.0.66"},
			{account: "a1", address: "10.0.0.66", wantWait: true},
		}},
		{"a colleague behind the sprayer's address is not blocked", []attempt{
			{account: "a1", address: "10.0.0.66"},
			{account: "a2", address: "10.0.0.66"},
			{account: "a3", address: "10.0.0.66"},
			{account: "a4", address: "10.0.0.66"},
			{account: "a5", address: "10.0.0.66"},
			{account: "bob", address: "10.0.0.66", right: true},
			{account: "bob", address: "10.0.0.66", right: true},
		}},
		{"failures of another account never block", []attempt{
			{account: "mallory", address: "10.0.0.1"},
			{account: "mallory", address: "10.0.0.1"},
			{account: "mallory", address: "10.0.0.1"},
			{account: "mallory", address: "10.0.0.1", wantWait: true},
			{account: "alice", address: "10.0.0.1", right: true},
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
	wait, err := l.Begin(ctx, s.account, s.address)
	if err != nil {
		t.Fatalf("step %d: Begin: %v", i, err)
	}
	if (wait > 0) != s.wantWait {
		t.Fatalf("step %d: %s from %s waits %v, want waiting %v", i, s.account, s.address, wait, s.wantWait)
	}
	if wait > testPolicy.Window {
		t.Fatalf("step %d: wait %v is longer than the window %v", i, wait, testPolicy.Window)
	}
	if wait > 0 {
		return
	}
	outcome := Failed
	if s.right {
		outcome = Succeeded
	}
	if err := l.End(ctx, s.account, s.address, outcome); err != nil {
		t.Fatalf("step %d: End: %v", i, err)
	}
}

// TestParallelGuesses sends many guesses for one account at once: no more
// than MaxInFlight run, and once they have failed the account waits.
func TestParallelGuesses(t *testing.T) {
	for name, counter := range counters(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := New(testPolicy, counter)
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				ahead []string
			)
			for i := range 50 {
				wg.Go(func() {
					addr := fmt.Sprintf("10.0.1.%d", i)
					if wait, err := l.Begin(ctx, "alice", addr); err == nil && wait == 0 {
						mu.Lock()
						ahead = append(ahead, addr)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(ahead) != testPolicy.MaxInFlight {
				t.Fatalf("%d of 50 parallel guesses went ahead, want %d", len(ahead), testPolicy.MaxInFlight)
			}
			for _, addr := range ahead {
				if err := l.End(ctx, "alice", addr, Failed); err != nil {
					t.Fatal(err)
				}
			}
			if wait, _ := l.Begin(ctx, "alice", "10.0.2.1"); wait == 0 {
				t.Fatal("alice goes ahead after the parallel guesses failed")
			}
		})
	}
}

// TestParallelLoginsOfOneAccount lets MaxInFlight checks of one account
// run at once, as a CI farm with one robot sends them, and none waits.
func TestParallelLoginsOfOneAccount(t *testing.T) {
	ctx := context.Background()
	l := New(testPolicy, NewMemory(nil))
	for round := range 3 {
		for i := range testPolicy.MaxInFlight {
			if wait, _ := l.Begin(ctx, "robot", fmt.Sprintf("10.0.3.%d", i)); wait != 0 {
				t.Fatalf("round %d, check %d waits %v", round, i, wait)
			}
		}
		for i := range testPolicy.MaxInFlight {
			if err := l.End(ctx, "robot", fmt.Sprintf("10.0.3.%d", i), Succeeded); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestUndecidedCountsNothing ends attempts that found the store down: they
// must not lock the account.
func TestUndecidedCountsNothing(t *testing.T) {
	for name, counter := range counters(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := New(testPolicy, counter)
			for range 2 * testPolicy.AccountLimit {
				if _, err := l.Begin(ctx, "alice", "10.0.0.1"); err != nil {
					t.Fatal(err)
				}
				if err := l.End(ctx, "alice", "10.0.0.1", Undecided); err != nil {
					t.Fatal(err)
				}
			}
			if wait, _ := l.Begin(ctx, "alice", "10.0.0.1"); wait != 0 {
				t.Fatalf("undecided attempts made alice wait %v", wait)
			}
		})
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
	fail(t, l, "alice", "10.0.0.1", testPolicy.AccountLimit)
	if wait, _ := l.Begin(ctx, "alice", "10.0.0.1"); wait != testPolicy.Window {
		t.Fatalf("wait right after the failures = %v, want the whole window %v", wait, testPolicy.Window)
	}
	clock.advance(testPolicy.Window / 2)
	if wait, _ := l.Begin(ctx, "alice", "10.0.0.1"); wait != testPolicy.Window/2 {
		t.Fatalf("wait half way = %v, want %v", wait, testPolicy.Window/2)
	}
	clock.advance(testPolicy.Window / 2)
	if wait, _ := l.Begin(ctx, "alice", "10.0.0.1"); wait != 0 {
		t.Fatalf("wait after the window = %v, want 0", wait)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m := NewMemory(nil)
	ctx := context.Background()
	for i := range maxMemoryKeys + 100 {
		if _, _, err := m.Add(ctx, time.Minute, "account:"+string(rune('a'+i%26))+time.Duration(i).String()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.wins); n > maxMemoryKeys {
		t.Fatalf("memory counter holds %d keys, more than its bound %d", n, maxMemoryKeys)
	}
}

// TestFloodKeepsLockouts fills the memory counter with names tried once:
// the account that reached its limit must still wait.
func TestFloodKeepsLockouts(t *testing.T) {
	ctx := context.Background()
	l := New(testPolicy, NewMemory(nil))
	fail(t, l, "victim", "10.0.0.1", testPolicy.AccountLimit)
	for i := range maxMemoryKeys {
		fail(t, l, fmt.Sprintf("junk%d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250), 1)
	}
	if wait, _ := l.Begin(ctx, "victim", "10.0.0.9"); wait == 0 {
		t.Fatal("a flood of other names erased the victim's count")
	}
}

// fail records n failed attempts of account from address.
func fail(t *testing.T, l *Limiter, account, address string, n int) {
	t.Helper()
	for range n {
		if err := l.End(context.Background(), account, address, Failed); err != nil {
			t.Fatal(err)
		}
	}
}
