package users

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testTime is the creation time of test accounts. Whole seconds, because
// the Redis store keeps times at that precision.
var testTime = time.Date(2024, 3, 1, 12, 30, 45, 0, time.UTC)

// testHash returns a bcrypt hash of password at the cheapest cost, so that
// tests stay fast; the cost is a parameter of the hash, not of the code.
func testHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	return string(h)
}

// testAccount returns a valid account named name with password and teams.
func testAccount(t testing.TB, name, password string, teams ...string) Account {
	t.Helper()
	a, err := NewAccount(name, password, teams, bcrypt.MinCost, testTime)
	if err != nil {
		t.Fatalf("NewAccount(%q): %v", name, err)
	}
	return a
}

// assertSameAccount fails unless got holds what want holds. A nil and an
// empty team list are the same; times compare as instants.
func assertSameAccount(t testing.TB, got, want Account) {
	t.Helper()
	switch {
	case got.Name != want.Name:
		t.Errorf("name = %q, want %q", got.Name, want.Name)
	case got.Hash != want.Hash:
		t.Errorf("account %s: hash differs from the one stored", want.Name)
	case !slices.Equal(got.Teams, want.Teams):
		t.Errorf("account %s: teams = %q, want %q", want.Name, got.Teams, want.Teams)
	case got.Disabled != want.Disabled || got.Robot != want.Robot:
		t.Errorf("account %s: disabled, robot = %v, %v; want %v, %v",
			want.Name, got.Disabled, got.Robot, want.Disabled, want.Robot)
	case !got.Expires.Equal(want.Expires):
		t.Errorf("account %s: expires = %v, want %v", want.Name, got.Expires, want.Expires)
	case !got.Created.Equal(want.Created) || !got.Changed.Equal(want.Changed):
		t.Errorf("account %s: times = %v, %v, want %v, %v",
			want.Name, got.Created, got.Changed, want.Created, want.Changed)
	}
}

// names returns the names of accounts, in order.
func names(accts []Account) []string {
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = a.Name
	}
	return out
}

// eventually polls cond until it holds or the deadline passes. It asserts
// that something happens, never how fast.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
