package users

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tokenKind makes an account store and a token store of one kind.
type tokenKind struct {
	name string
	open func(t *testing.T) (Store, TokenStore)
}

func tokenKinds() []tokenKind {
	return []tokenKind{
		{"file", func(t *testing.T) (Store, TokenStore) {
			tf, err := OpenTokenFile(filepath.Join(t.TempDir(), "tokens.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			return openTestFile(t), tf
		}},
		{"redis", func(t *testing.T) (Store, TokenStore) {
			r := openTestRedis(t)
			return r, r
		}},
	}
}

func TestRefreshTokens(t *testing.T) {
	const service, client = "registry", "docker"
	tests := []struct {
		name string
		// change acts between issue and check; it may rewrite the raw token.
		change  func(t *testing.T, s Store, ts TokenStore, raw *string, clock *time.Time)
		service string
		client  string
		want    string // "" for success, else a word of the reason
	}{
		{name: "good token", change: func(*testing.T, Store, TokenStore, *string, *time.Time) {}},
		{name: "teams are read afresh", change: func(t *testing.T, s Store, _ TokenStore, _ *string, _ *time.Time) {
			modify(t, s, func(a *Account) error { return a.JoinTeams([]string{"ops"}, testTime) })
		}},
		{name: "tampered secret", want: "wrong secret",
			change: func(_ *testing.T, _ Store, _ TokenStore, raw *string, _ *time.Time) {
				id, secret, _ := strings.Cut(*raw, ".")
				*raw = id + "." + strings.ToUpper(secret[:len(secret)-1]) + "A"
				if *raw == id+"."+secret {
					*raw = id + ".B" + secret[1:]
				}
			}},
		{name: "made up id", want: "unknown",
			change: func(_ *testing.T, _ Store, _ TokenStore, raw *string, _ *time.Time) {
				_, secret, _ := strings.Cut(*raw, ".")
				*raw = "AAAAAAAAAAAAAAAAAAAAAAAAAA." + secret
			}},
		{name: "malformed", want: "malformed",
			change: func(_ *testing.T, _ Store, _ TokenStore, raw *string, _ *time.Time) { *raw = "no-dot" }},
		{name: "expired", want: "expired",
			change: func(_ *testing.T, _ Store, _ TokenStore, _ *string, clock *time.Time) {
				*clock = clock.Add(2 * time.Hour)
			}},
		{name: "revoked", want: "unknown or revoked",
			change: func(t *testing.T, _ Store, ts TokenStore, raw *string, _ *time.Time) {
				id, _, _ := strings.Cut(*raw, ".")
				if n, err := ts.RevokeTokens(context.Background(), id); err != nil || n != 1 {
					t.Fatalf("revoke: %d, %v", n, err)
				}
			}},
		{name: "another service", service: "other-registry", want: "another service",
			change: func(*testing.T, Store, TokenStore, *string, *time.Time) {}},
		{name: "another client", client: "containerd", want: "another client",
			change: func(*testing.T, Store, TokenStore, *string, *time.Time) {}},
		{name: "password changed", want: "password changed",
			change: func(t *testing.T, s Store, _ TokenStore, _ *string, _ *time.Time) {
				modify(t, s, func(a *Account) error { return a.SetPassword("new-password", 4, testTime) })
			}},
		{name: "account disabled", want: "disabled",
			change: func(t *testing.T, s Store, _ TokenStore, _ *string, _ *time.Time) {
				modify(t, s, func(a *Account) error { a.Disabled = true; return nil })
			}},
		{name: "account removed", want: "removed",
			change: func(t *testing.T, s Store, _ TokenStore, _ *string, _ *time.Time) {
				if err := s.Delete(context.Background(), "alice"); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, kind := range tokenKinds() {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				store, tokens := kind.open(t)
				alice := testAccount(t, "alice", "alice-password", "dev")
				mustAdd(t, store, alice)
				clock := time.Now().Truncate(time.Second)
				r := &Refresher{Accounts: store, Tokens: tokens, TTL: time.Hour,
					Now: func() time.Time { return clock }}

				raw, rec, err := r.Issue(ctx, alice, service, client)
				if err != nil {
					t.Fatalf("issue: %v", err)
				}
				if strings.Contains(recordText(t, tokens, rec.ID), strings.SplitN(raw, ".", 2)[1]) {
					t.Fatal("the store holds the secret itself")
				}
				tt.change(t, store, tokens, &raw, &clock)

				svc, cl := cmp.Or(tt.service, service), cmp.Or(tt.client, client)
				acct, _, err := r.Check(ctx, raw, svc, cl)
				if tt.want == "" {
					if err != nil || acct.Name != "alice" {
						t.Fatalf("check = %q, %v; want alice", acct.Name, err)
					}
					return
				}
				if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("check error = %v, want ErrInvalidToken saying %q", err, tt.want)
				}
			})
		}
	}
}

func TestRefreshNeverOutlivesItsAccount(t *testing.T) {
	store, tokens := tokenKinds()[0].open(t)
	robot := testAccount(t, "ci", "robot-secret")
	robot.Robot, robot.Expires = true, time.Now().Add(time.Hour).Truncate(time.Second)
	mustAdd(t, store, robot)
	r := &Refresher{Accounts: store, Tokens: tokens}
	_, rec, err := r.Issue(context.Background(), robot, "registry", "docker")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Expires.Equal(robot.Expires) {
		t.Fatalf("token of a robot expiring %v expires %v", robot.Expires, rec.Expires)
	}
}

func TestTokenListAndRevoke(t *testing.T) {
	for _, kind := range tokenKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			store, tokens := kind.open(t)
			alice, bob := testAccount(t, "alice", "pw-a"), testAccount(t, "bob", "pw-b")
			mustAdd(t, store, alice, bob)
			r := &Refresher{Accounts: store, Tokens: tokens}
			for _, a := range []Account{alice, alice, bob} {
				if _, _, err := r.Issue(ctx, a, "registry", "docker"); err != nil {
					t.Fatal(err)
				}
			}
			all, err := tokens.ListTokens(ctx, "")
			if err != nil || len(all) != 3 {
				t.Fatalf("list all = %d, %v; want 3", len(all), err)
			}
			mine, _ := tokens.ListTokens(ctx, "alice")
			if len(mine) != 2 {
				t.Fatalf("alice has %d tokens, want 2", len(mine))
			}
			n, err := tokens.RevokeTokens(ctx, mine[0].ID, mine[1].ID, "NOSUCHID")
			if err != nil || n != 2 {
				t.Fatalf("revoke = %d, %v; want 2", n, err)
			}
			if left, _ := tokens.ListTokens(ctx, ""); len(left) != 1 || left[0].Account != "bob" {
				t.Fatalf("left after revoking alice's: %+v", left)
			}
		})
	}
}

func modify(t *testing.T, s Store, fn func(*Account) error) {
	t.Helper()
	if err := s.Modify(context.Background(), "alice", fn); err != nil {
		t.Fatal(err)
	}
}

// recordText returns what the store keeps of a token, as text.
func recordText(t *testing.T, ts TokenStore, id string) string {
	t.Helper()
	rec, err := ts.LookupToken(context.Background(), id)
	if err != nil {
		t.Fatalf("lookup %s: %v", id, err)
	}
	return rec.SecretHash + rec.Stamp + rec.Account + rec.ClientID
}

func TestTokensPerAccountAreBounded(t *testing.T) {
	for _, kind := range tokenKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			store, tokens := kind.open(t)
			alice := testAccount(t, "alice", "pw")
			mustAdd(t, store, alice)
			r := &Refresher{Accounts: store, Tokens: tokens}
			var first []string
			for i := range MaxTokensPerAccount + 5 {
				_, rec, err := r.Issue(ctx, alice, "registry", "docker")
				if err != nil {
					t.Fatal(err)
				}
				if i < 5 {
					first = append(first, rec.ID)
				}
			}
			left, err := tokens.ListTokens(ctx, "alice")
			if err != nil || len(left) != MaxTokensPerAccount {
				t.Fatalf("alice holds %d tokens (%v), want %d", len(left), err, MaxTokensPerAccount)
			}
			for _, id := range first {
				if _, err := tokens.LookupToken(ctx, id); !errors.Is(err, ErrNotFound) {
					t.Errorf("oldest token %s still there: %v", id, err)
				}
			}
		})
	}
}

// TestUnknownTokenReadsFileAtMostOncePerSecond: a token written by another
// server is found by reading the file again, but made-up ids cannot make
// every request read the whole file.
func TestUnknownTokenReadsFileAtMostOncePerSecond(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	here, err := OpenTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	here.now = func() time.Time { return clock }
	there, err := OpenTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	save := func(id string) {
		t.Helper()
		rec := RefreshToken{ID: id, Account: "alice", Created: clock, Expires: clock.Add(time.Hour)}
		if err := there.SaveToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}

	save("FIRST")
	if _, err := here.LookupToken(ctx, "FIRST"); err != nil {
		t.Fatalf("a token another server wrote: %v", err)
	}
	save("SECOND")
	if _, err := here.LookupToken(ctx, "SECOND"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("within a second of the last read, got %v, want ErrNotFound", err)
	}
	clock = clock.Add(missReload)
	if _, err := here.LookupToken(ctx, "SECOND"); err != nil {
		t.Fatalf("a second later: %v", err)
	}
}
