package users

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// storeKind makes an empty store of one implementation for one test.
type storeKind struct {
	name string
	open func(t *testing.T) Store
}

// storeKinds lists every Store implementation; the contract tests run
// against each of them.
func storeKinds() []storeKind {
	return []storeKind{
		{"file", func(t *testing.T) Store { return openTestFile(t) }},
		{"redis", func(t *testing.T) Store { return openTestRedis(t) }},
	}
}

// TestStoreContract checks what the Store interface promises, the same way
// for the file store and the Redis store.
func TestStoreContract(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range storeContract {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, kind.open(t))
				})
			}
		})
	}
}

var storeContract = []struct {
	name string
	run  func(t *testing.T, s Store)
}{
	{"lookup of an unknown account is ErrNotFound", func(t *testing.T, s Store) {
		if _, err := s.Lookup(t.Context(), "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup = %v, want ErrNotFound", err)
		}
	}},
	{"an added account is found as added", func(t *testing.T, s Store) {
		alice := testAccount(t, "alice", "pw", "dev", "ops")
		alice.Disabled = true
		robot := testAccount(t, "ci-bot", "pw", "dev")
		robot.Robot, robot.Expires = true, testTime.Add(30*24*time.Hour)
		mustAdd(t, s, alice, robot)

		got, err := s.Lookup(t.Context(), "ci-bot")
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		assertSameAccount(t, got, robot)

		got, err = s.Lookup(t.Context(), "alice")
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		assertSameAccount(t, got, alice)
	}},
	{"adding a taken name stores none of the batch", func(t *testing.T, s Store) {
		orig := testAccount(t, "alice", "pw")
		mustAdd(t, s, orig)

		err := s.Add(t.Context(), testAccount(t, "bob", "pw"), testAccount(t, "alice", "other"))
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Add = %v, want ErrExists", err)
		}
		if _, err := s.Lookup(t.Context(), "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(bob) after a refused batch = %v, want ErrNotFound", err)
		}
		got, _ := s.Lookup(t.Context(), "alice")
		assertSameAccount(t, got, orig)
	}},
	{"adding nothing is a no-op", func(t *testing.T, s Store) {
		if err := s.Add(t.Context()); err != nil {
			t.Errorf("Add() = %v, want nil", err)
		}
		assertNames(t, s, []string{})
	}},
	{"list is sorted by name", func(t *testing.T, s Store) {
		mustAdd(t, s, testAccount(t, "carol", "pw"), testAccount(t, "alice", "pw"))
		mustAdd(t, s, testAccount(t, "bob", "pw"))
		assertNames(t, s, []string{"alice", "bob", "carol"})
	}},
	{"modify changes password, teams and disabled", func(t *testing.T, s Store) {
		mustAdd(t, s, testAccount(t, "alice", "old", "dev"))
		later := testTime.Add(time.Hour)

		err := s.Modify(t.Context(), "alice", func(a *Account) error {
			if err := a.SetPassword("new", bcrypt.MinCost, later); err != nil {
				return err
			}
			a.LeaveTeams([]string{"dev"}, later)
			a.Disabled = true
			return a.JoinTeams([]string{"ops"}, later)
		})
		if err != nil {
			t.Fatalf("Modify: %v", err)
		}

		got, err := s.Lookup(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if bcrypt.CompareHashAndPassword([]byte(got.Hash), []byte("new")) != nil {
			t.Error("stored hash is not of the new password")
		}
		if !slices.Equal(got.Teams, []string{"ops"}) || !got.Disabled || !got.Changed.Equal(later) {
			t.Errorf("after Modify: teams %q, disabled %v, changed %v", got.Teams, got.Disabled, got.Changed)
		}
		if !got.Created.Equal(testTime) {
			t.Errorf("Modify changed the creation time to %v", got.Created)
		}
	}},
	{"modify of an unknown account is ErrNotFound", func(t *testing.T, s Store) {
		called := false
		err := s.Modify(t.Context(), "nobody", func(*Account) error { called = true; return nil })
		if !errors.Is(err, ErrNotFound) || called {
			t.Errorf("Modify = %v (fn called: %v), want ErrNotFound without a call", err, called)
		}
		assertNames(t, s, []string{})
	}},
	{"a failing modify stores nothing", func(t *testing.T, s Store) {
		orig := testAccount(t, "alice", "pw", "dev")
		mustAdd(t, s, orig)
		refused := errors.New("refused")

		err := s.Modify(t.Context(), "alice", func(a *Account) error {
			a.Disabled = true
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("Modify = %v, want the function's error", err)
		}
		got, _ := s.Lookup(t.Context(), "alice")
		assertSameAccount(t, got, orig)
	}},
	{"delete removes the account", func(t *testing.T, s Store) {
		mustAdd(t, s, testAccount(t, "alice", "pw"), testAccount(t, "bob", "pw"))
		if err := s.Delete(t.Context(), "alice"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Lookup(t.Context(), "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup after Delete = %v, want ErrNotFound", err)
		}
		assertNames(t, s, []string{"bob"})
		mustAdd(t, s, testAccount(t, "alice", "pw"))
	}},
	{"delete of an unknown account is ErrNotFound", func(t *testing.T, s Store) {
		mustAdd(t, s, testAccount(t, "alice", "pw"))
		if err := s.Delete(t.Context(), "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete = %v, want ErrNotFound", err)
		}
		assertNames(t, s, []string{"alice"})
	}},
	{"concurrent adds all land", func(t *testing.T, s Store) {
		const writers, each = 4, 5
		var want []string
		batches := make([][]Account, writers)
		for i := range batches {
			for j := range each {
				a := testAccount(t, fmt.Sprintf("w%d-u%d", i, j), "pw")
				batches[i] = append(batches[i], a)
				want = append(want, a.Name)
			}
		}

		errs := make(chan error, writers*each)
		var wg sync.WaitGroup
		for _, batch := range batches {
			wg.Go(func() {
				for _, a := range batch {
					errs <- s.Add(t.Context(), a)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
		slices.Sort(want)
		assertNames(t, s, want)
	}},
	{"concurrent adds of one name: exactly one wins", func(t *testing.T, s Store) {
		const writers = 6
		accts := make([]Account, writers)
		for i := range accts {
			accts[i] = testAccount(t, "alice", fmt.Sprintf("pw%d", i))
		}
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for _, a := range accts {
			wg.Go(func() { errs <- s.Add(t.Context(), a) })
		}
		wg.Wait()
		close(errs)

		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrExists):
				t.Errorf("Add = %v, want nil or ErrExists", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d Adds of one name succeeded, want 1", won, writers)
		}
	}},
	{"concurrent modifies of one account lose no update", func(t *testing.T, s Store) {
		// Fewer writers than the Redis store's retries: each of its
		// optimistic transactions loses at most once per other writer.
		const writers = 6
		mustAdd(t, s, testAccount(t, "alice", "pw"))

		errs := make(chan error, writers)
		var wg sync.WaitGroup
		var want []string
		for i := range writers {
			team := fmt.Sprintf("team%d", i)
			want = append(want, team)
			wg.Go(func() {
				errs <- s.Modify(t.Context(), "alice", func(a *Account) error {
					return a.JoinTeams([]string{team}, testTime)
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Modify: %v", err)
			}
		}
		got, err := s.Lookup(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Teams, want) {
			t.Errorf("teams after concurrent joins = %q, want %q", got.Teams, want)
		}
	}},
}

func mustAdd(t *testing.T, s Store, accts ...Account) {
	t.Helper()
	if err := s.Add(t.Context(), accts...); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

// assertNames fails unless the store lists exactly want, in order.
func assertNames(t *testing.T, s Store, want []string) {
	t.Helper()
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := names(list); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}
