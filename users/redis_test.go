package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/regauth/regauth/internal/testredis"
)

// The Redis tests run against a real redis-server: the one scripts/test.sh
// names in REGAUTH_TEST_REDIS (host:port), or else one they start on a free
// loopback port. On a shared server they keep to one database, which each
// test empties first, so that other packages' tests are not disturbed.
const testRedisDB = 14

// sharedRedis is the server the tests share; TestMain stops it.
var sharedRedis testredis.Shared

// newTestRedisClient returns a client of the test database, closed when
// the test ends.
func newTestRedisClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	client, err := ParseRedisURL(fmt.Sprintf("redis://%s/%d", addr, testRedisDB))
	if err != nil {
		t.Fatalf("ParseRedisURL: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// openTestRedis returns a Redis store over the emptied test database.
func openTestRedis(t testing.TB) *Redis {
	t.Helper()
	client := newTestRedisClient(t, sharedRedis.Addr(t))
	if err := client.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHDB: %v", err)
	}
	return NewRedis(client)
}

// TestRedisSharedByServers plays two token servers on one Redis, each
// with its own client: whatever one of them changes, the other sees on its
// very next request, with no reload.
func TestRedisSharedByServers(t *testing.T) {
	ctx := t.Context()
	storeA := openTestRedis(t)
	storeB := NewRedis(newTestRedisClient(t, sharedRedis.Addr(t)))
	authB := newTestAuthenticator(t, storeB)
	later := testTime.Add(time.Minute)

	steps := []struct {
		name     string
		change   func() error // through server A
		password string       // then authenticated through server B
		wantErr  error
		teams    []string
	}{
		{"account added", func() error {
			return storeA.Add(ctx, testAccount(t, "alice", "first", "dev"))
		}, "first", nil, []string{"dev"}},
		{"password changed: new one works", func() error {
			return storeA.Modify(ctx, "alice", func(a *Account) error {
				return a.SetPassword("second", bcrypt.MinCost, later)
			})
		}, "second", nil, []string{"dev"}},
		{"password changed: old one fails", func() error { return nil },
			"first", ErrBadCredentials, nil},
		{"team changed", func() error {
			return storeA.Modify(ctx, "alice", func(a *Account) error {
				a.LeaveTeams([]string{"dev"}, later)
				return a.JoinTeams([]string{"ops"}, later)
			})
		}, "second", nil, []string{"ops"}},
		{"account disabled", func() error {
			return storeA.Modify(ctx, "alice", func(a *Account) error {
				a.Disabled = true
				return nil
			})
		}, "second", ErrBadCredentials, nil},
		{"account enabled", func() error {
			return storeA.Modify(ctx, "alice", func(a *Account) error {
				a.Disabled = false
				return nil
			})
		}, "second", nil, []string{"ops"}},
		{"account deleted", func() error {
			return storeA.Delete(ctx, "alice")
		}, "second", ErrBadCredentials, nil},
	}
	for _, step := range steps {
		if err := step.change(); err != nil {
			t.Fatalf("%s: change through server A: %v", step.name, err)
		}
		a, err := authB.Authenticate(ctx, "alice", step.password)
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: Authenticate through server B = %v, want %v", step.name, err, step.wantErr)
		}
		if err == nil && strings.Join(a.Teams, ",") != strings.Join(step.teams, ",") {
			t.Errorf("%s: server B sees teams %q, want %q", step.name, a.Teams, step.teams)
		}
	}
}

// TestRedisPublishesChanges checks that each write names the account on
// the changes channel, for servers that cache accounts.
func TestRedisPublishesChanges(t *testing.T) {
	ctx := t.Context()
	store := openTestRedis(t)
	sub := newTestRedisClient(t, sharedRedis.Addr(t)).Subscribe(ctx, RedisChangesChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}

	mustAdd(t, store, testAccount(t, "alice", "pw"))
	disable := func(a *Account) error { a.Disabled = true; return nil }
	if err := store.Modify(ctx, "alice", disable); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}

	recvCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range 3 {
		msg, err := sub.ReceiveMessage(recvCtx)
		if err != nil {
			t.Fatalf("change message %d: %v", i+1, err)
		}
		if msg.Payload != "alice" {
			t.Errorf("change message %d names %q, want alice", i+1, msg.Payload)
		}
	}
}

// TestRedisCorruptAccount is an account written by something else than
// regauth: the lookup fails without calling it unknown and without
// repeating what is stored.
func TestRedisCorruptAccount(t *testing.T) {
	ctx := t.Context()
	store := openTestRedis(t)
	const stored = "$apr1$Rc7nEXMr$GmwkP3iS9mWzEDx0BHjML/"
	if err := store.client.HSet(ctx, userKey("alice"), "hash", stored).Err(); err != nil {
		t.Fatal(err)
	}

	_, err := store.Lookup(ctx, "alice")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup of a non-bcrypt account = %v, want an error other than ErrNotFound", err)
	}
	if strings.Contains(err.Error(), stored) {
		t.Errorf("error %q repeats the stored hash", err)
	}
	auth := newTestAuthenticator(t, store)
	if _, err := auth.Authenticate(ctx, "alice", "pw"); err == nil {
		t.Error("Authenticate succeeded against a non-bcrypt hash")
	}
}

func TestParseRedisURL(t *testing.T) {
	const secret = "s3cretpw"
	type check func(t *testing.T, c redis.UniversalClient)
	plain := func(addr string, db int, tls bool) check {
		return func(t *testing.T, c redis.UniversalClient) {
			cl, ok := c.(*redis.Client)
			if !ok {
				t.Fatalf("client is %T, want *redis.Client", c)
			}
			o := cl.Options()
			if o.Addr != addr || o.DB != db || (o.TLSConfig != nil) != tls || o.Password != secret {
				t.Errorf("options: addr %s db %d tls %v; want %s %d %v and the password",
					o.Addr, o.DB, o.TLSConfig != nil, addr, db, tls)
			}
		}
	}
	tests := []struct {
		name  string
		url   string
		check check // nil: an error is wanted
	}{
		{"redis", "redis://:" + secret + "@127.0.0.1:6390/3", plain("127.0.0.1:6390", 3, false)},
		{"redis default port and database", "redis://:" + secret + "@localhost",
			plain("localhost:6379", 0, false)},
		{"rediss", "rediss://user:" + secret + "@redis.example:6380/1", plain("redis.example:6380", 1, true)},
		{"sentinel", "redis://:" + secret + "@10.0.0.1:26379/2?master_name=mymaster&addr=10.0.0.2:26379",
			func(t *testing.T, c redis.UniversalClient) {
				cl, ok := c.(*redis.Client)
				if !ok {
					t.Fatalf("client is %T, want the *redis.Client of a failover client", c)
				}
				// go-redis marks a failover client by this address.
				if o := cl.Options(); o.Addr != "FailoverClient" || o.DB != 2 {
					t.Errorf("options: addr %q db %d, want a failover client of db 2", o.Addr, o.DB)
				}
			}},
		{"cluster", "redis://:" + secret + "@10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000",
			func(t *testing.T, c redis.UniversalClient) {
				cl, ok := c.(*redis.ClusterClient)
				if !ok {
					t.Fatalf("client is %T, want *redis.ClusterClient", c)
				}
				if o := cl.Options(); len(o.Addrs) != 3 || o.Password != secret {
					t.Errorf("cluster nodes %q, want 3 and the password", o.Addrs)
				}
			}},
		{"rediss cluster", "rediss://:" + secret + "@10.0.0.1:7000?addr=10.0.0.2:7000",
			func(t *testing.T, c redis.UniversalClient) {
				cl, ok := c.(*redis.ClusterClient)
				if !ok || cl.Options().TLSConfig == nil {
					t.Errorf("client is %T, want a *redis.ClusterClient with TLS", c)
				}
			}},
		{"bad port", "redis://:" + secret + "@127.0.0.1:port/0", nil},
		{"bad database", "redis://:" + secret + "@127.0.0.1:6379/zero", nil},
		{"deep path", "redis://:" + secret + "@127.0.0.1:6379/0/1", nil},
		{"other scheme", "http://:" + secret + "@127.0.0.1:6379", nil},
		{"no scheme", "user:" + secret + "@127.0.0.1:6379", nil},
		{"control character", "redis://:" + secret + "@127.0.0.1\n:6379", nil},
		{"unclosed IPv6 bracket", "redis://:" + secret + "@[::1:6379", nil},
		{"bad escape", "redis://:" + secret + "%zz@127.0.0.1:6379", nil},
		{"unknown option", "redis://:" + secret + "@127.0.0.1:6379?bogus=1", nil},
		{"bad timeout", "redis://:" + secret + "@127.0.0.1:6379?dial_timeout=soon", nil},
		{"sentinel unknown option", "redis://:" + secret + "@h:26379?master_name=m&bogus=1", nil},
		{"sentinel bad addr", "redis://:" + secret + "@h:26379?master_name=m&addr=nope", nil},
		{"cluster unknown option", "redis://:" + secret + "@h:7000?addr=h2:7000&bogus=1", nil},
		{"cluster other scheme", "http://:" + secret + "@h:7000?addr=h2:7000", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseRedisURL(tc.url)
			if tc.check == nil {
				if err == nil {
					c.Close()
					t.Fatalf("ParseRedisURL succeeded, want an error")
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRedisURL: %v", err)
			}
			defer c.Close()
			tc.check(t, c)
		})
	}
}

// TestRedisOutage stops the server under a store: lookups fail with an
// error that is neither "unknown account" nor "bad credentials", so the
// token server answers 5xx rather than 401; once the server is back on
// the same port the same store works again.
func TestRedisOutage(t *testing.T) {
	ctx := t.Context()
	srv := testredis.Start(t, testredis.Options{})

	client, err := ParseRedisURL("redis://" + srv.Addr() + "/0?dial_timeout=1s&max_retries=1")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store := NewRedis(client)
	auth := newTestAuthenticator(t, store)
	mustAdd(t, store, testAccount(t, "alice", "pw"))
	if _, err := auth.Authenticate(ctx, "alice", "pw"); err != nil {
		t.Fatalf("Authenticate before the outage: %v", err)
	}

	srv.Stop()
	_, err = store.Lookup(ctx, "alice")
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("Lookup with Redis down = %v, want a store error", err)
	}
	if _, err := auth.Authenticate(ctx, "alice", "pw"); err == nil || errors.Is(err, ErrBadCredentials) {
		t.Errorf("Authenticate with Redis down = %v, want a store error", err)
	}
	if _, err := store.List(ctx); err == nil {
		t.Error("List with Redis down succeeded")
	}

	srv.Restart(t)
	// The server kept nothing (no persistence): the store answers again
	// once "alice" is unknown rather than unreachable.
	eventually(t, "the store answers again", func() bool {
		_, err := store.Lookup(ctx, "alice")
		return errors.Is(err, ErrNotFound)
	})
	mustAdd(t, store, testAccount(t, "alice", "pw"))
	if _, err := auth.Authenticate(ctx, "alice", "pw"); err != nil {
		t.Errorf("Authenticate after the restart: %v", err)
	}
}
