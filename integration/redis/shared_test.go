package redis_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regauth/regauth/users"
)

func decodePayload(token string, v any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func addAccount(t *testing.T, srv *tokenServer, name, password string, teams ...string) {
	t.Helper()
	a, err := users.NewAccount(name, password, teams, 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.store.Add(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func modify(t *testing.T, srv *tokenServer, name string, fn func(*users.Account) error) {
	t.Helper()
	if err := srv.store.Modify(context.Background(), name, fn); err != nil {
		t.Fatal(err)
	}
}

// TestChangesReachTheOtherServer makes every change through server a's
// store and watches server b, which shares only Redis with it.
func TestChangesReachTheOtherServer(t *testing.T) {
	e := newEnv(t)
	const scope = "repository:dev/app:pull,push"

	addAccount(t, e.a, "alice", "first-password", "dev")
	eventually(t, within, "a new account logs in at b", func() error {
		return wantStatus(e.login(t, e.b, "alice", "first-password", scope), http.StatusOK)
	})

	modify(t, e.a, "alice", func(a *users.Account) error {
		return a.SetPassword("second-password", 4, time.Now())
	})
	eventually(t, within, "the old password is refused at b", func() error {
		return wantStatus(e.login(t, e.b, "alice", "first-password", scope), http.StatusUnauthorized)
	})
	if r := e.login(t, e.b, "alice", "second-password", scope); r.status != http.StatusOK {
		t.Fatalf("new password at b: %d", r.status)
	}

	modify(t, e.a, "alice", func(a *users.Account) error {
		a.LeaveTeams([]string{"dev"}, time.Now())
		return a.JoinTeams([]string{"ops"}, time.Now())
	})
	eventually(t, within, "a team change counts at b", func() error {
		dev := e.login(t, e.b, "alice", "second-password", scope)
		ops := e.login(t, e.b, "alice", "second-password", "repository:ops/app:pull")
		if len(dev.granted) != 0 || !slices.Equal(ops.granted, []string{"pull"}) {
			return fmt.Errorf("dev granted %v, ops granted %v", dev.granted, ops.granted)
		}
		return nil
	})

	if err := e.a.store.Delete(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	eventually(t, within, "a deleted account is refused at b", func() error {
		return wantStatus(e.login(t, e.b, "alice", "second-password", scope), http.StatusUnauthorized)
	})
}

// TestRefreshTokenAcrossServers uses a refresh token from a at b, and
// ends it with a password change made through b.
func TestRefreshTokenAcrossServers(t *testing.T) {
	e := newEnv(t)
	const scope = "repository:dev/app:pull"
	addAccount(t, e.a, "alice", "pw", "dev")

	login := e.login(t, e.a, "alice", "pw", scope)
	if login.status != http.StatusOK || login.refresh == "" {
		t.Fatalf("login at a: %d, refresh token %t", login.status, login.refresh != "")
	}
	if r := e.refresh(t, e.b, login.refresh, scope); r.status != http.StatusOK || len(r.granted) == 0 {
		t.Fatalf("refresh at b: %d, granted %v", r.status, r.granted)
	}

	modify(t, e.b, "alice", func(a *users.Account) error { return a.SetPassword("pw2", 4, time.Now()) })
	if r := e.refresh(t, e.a, login.refresh, scope); r.status != http.StatusUnauthorized {
		t.Fatalf("refresh at a after the password changed: %d, want 401", r.status)
	}
}

// TestThrottleIsShared fails logins at a and finds the account waiting at b.
func TestThrottleIsShared(t *testing.T) {
	e := newEnv(t)
	addAccount(t, e.a, "alice", "pw", "dev")
	for range 3 {
		if r := e.login(t, e.a, "alice", "wrong", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password at a: %d", r.status)
		}
	}
	if r := e.login(t, e.b, "alice", "pw", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("at b after 3 failures at a: %d, want 429", r.status)
	}
}

// TestRedisGoesAwayAndComesBack stops redis-server under both servers:
// logins get 503 and readiness fails, nothing crashes, and both recover by
// themselves once it is back.
func TestRedisGoesAwayAndComesBack(t *testing.T) {
	e := newEnv(t)
	const scope = "repository:dev/app:pull"
	addAccount(t, e.a, "alice", "pw", "dev")
	if r := e.login(t, e.b, "alice", "pw", scope); r.status != http.StatusOK {
		t.Fatalf("before the outage: %d", r.status)
	}

	e.redis.Stop()
	for _, srv := range []*tokenServer{e.a, e.b} {
		if r := e.login(t, srv, "alice", "pw", scope); r.status != http.StatusServiceUnavailable {
			t.Fatalf("login while Redis is down: %d, want 503", r.status)
		}
		if err := srv.ts.Ready(context.Background()); err == nil {
			t.Fatal("ready while Redis is down")
		}
		if r := e.login(t, srv, "", "", "repository:public/x:pull"); r.status != http.StatusOK {
			t.Fatalf("anonymous request while Redis is down: %d, want 200: it needs no account", r.status)
		}
	}

	e.redis.Restart(t)
	for _, srv := range []*tokenServer{e.a, e.b} {
		eventually(t, 5*time.Second, "login after Redis is back", func() error {
			return wantStatus(e.login(t, srv, "alice", "pw", scope), http.StatusOK)
		})
		if err := srv.ts.Ready(context.Background()); err != nil {
			t.Fatalf("not ready after Redis is back: %v", err)
		}
	}
}
