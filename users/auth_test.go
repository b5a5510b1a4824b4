package users

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// mapLookup is an in-memory Lookup; err, when set, is what every lookup
// fails with, as a store that cannot answer would.
type mapLookup struct {
	accounts map[string]Account
	err      error
}

func (m mapLookup) Lookup(_ context.Context, name string) (Account, error) {
	if m.err != nil {
		return Account{}, m.err
	}
	a, ok := m.accounts[name]
	if !ok {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// newTestAuthenticator returns an Authenticator over accounts.
func newTestAuthenticator(t testing.TB, store Lookup) *Authenticator {
	t.Helper()
	auth, err := NewAuthenticator(store, bcrypt.MinCost)
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return auth
}

func TestAuthenticate(t *testing.T) {
	const password = "corr3ct horse"
	long := strings.Repeat("L", MaxPasswordLen)
	disabled := testAccount(t, "mallory", password)
	disabled.Disabled = true
	expired := testAccount(t, "old-bot", password)
	expired.Robot, expired.Expires = true, time.Now().Add(-time.Minute)
	valid := testAccount(t, "new-bot", password)
	valid.Robot, valid.Expires = true, time.Now().Add(time.Hour)
	store := mapLookup{accounts: map[string]Account{
		"alice":   testAccount(t, "alice", password, "dev"),
		"mallory": disabled,
		"old-bot": expired,
		"new-bot": valid,
		"longpw":  testAccount(t, "longpw", long),
	}}
	storeDown := errors.New("store is down")

	tests := []struct {
		name     string
		store    Lookup
		account  string
		password string
		wantErr  error
	}{
		{"right password", store, "alice", password, nil},
		{"right 72-byte password", store, "longpw", long, nil},
		{"wrong password", store, "alice", "wrong", ErrBadCredentials},
		{"password of another case", store, "alice", strings.ToUpper(password), ErrBadCredentials},
		{"password with a trailing newline", store, "alice", password + "\n", ErrBadCredentials},
		{"empty password", store, "alice", "", ErrBadCredentials},
		{"unknown account", store, "bob", password, ErrBadCredentials},
		{"empty account", store, "", password, ErrBadCredentials},
		{"disabled account, right password", store, "mallory", password, ErrBadCredentials},
		{"disabled account, wrong password", store, "mallory", "wrong", ErrBadCredentials},
		{"robot before it expires", store, "new-bot", password, nil},
		{"expired robot, right password", store, "old-bot", password, ErrBadCredentials},
		{"store error passes through", mapLookup{err: storeDown}, "alice", password, storeDown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := newTestAuthenticator(t, tc.store)

			got, err := auth.Authenticate(t.Context(), tc.account, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if got.Name != "" || got.Hash != "" {
					t.Errorf("failed Authenticate returned account %q", got.Name)
				}
				if tc.wantErr != ErrBadCredentials && errors.Is(err, ErrBadCredentials) {
					t.Errorf("store failure %v reported as bad credentials", err)
				}
				return
			}
			if got.Name != tc.account {
				t.Errorf("Authenticate returned %q, want %q", got.Name, tc.account)
			}
		})
	}
}

// TestAuthenticateUnknownDoesBcryptWork checks, without timing anything,
// that an unknown account costs a bcrypt comparison as a wrong password
// does: bcrypt's key schedule allocates, a map miss does not, so the
// allocation counts of the two paths must be alike. Timing itself is in
// the benchmarks below.
func TestAuthenticateUnknownDoesBcryptWork(t *testing.T) {
	auth := newTestAuthenticator(t, mapLookup{accounts: map[string]Account{
		"alice": testAccount(t, "alice", "s3cret"),
	}})
	ctx := t.Context()
	allocs := func(account string) float64 {
		return testing.AllocsPerRun(20, func() {
			_, _ = auth.Authenticate(ctx, account, "wrong")
		})
	}
	noBcrypt := testing.AllocsPerRun(20, func() {
		_, _ = mapLookup{}.Lookup(ctx, "bob")
	})

	unknown, wrong := allocs("bob"), allocs("alice")
	if unknown <= noBcrypt || unknown < wrong-2 {
		t.Errorf("allocations per call: unknown account %v, wrong password %v, lookup alone %v; "+
			"the unknown-account path seems to skip bcrypt", unknown, wrong, noBcrypt)
	}
}

// The two benchmarks below should report about the same ns/op: an unknown
// account must cost what a wrong password costs, or the time of a failed
// login tells which accounts exist. Compare them with
//
//	go test -run '^$' -bench 'Authenticate(Unknown|WrongPassword)' ./users
func BenchmarkAuthenticateUnknown(b *testing.B) {
	benchmarkAuthenticate(b, "nobody")
}

func BenchmarkAuthenticateWrongPassword(b *testing.B) {
	benchmarkAuthenticate(b, "alice")
}

func benchmarkAuthenticate(b *testing.B, account string) {
	a, err := NewAccount("alice", "s3cret", nil, DefaultCost, testTime)
	if err != nil {
		b.Fatal(err)
	}
	auth, err := NewAuthenticator(mapLookup{accounts: map[string]Account{"alice": a}}, DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		if _, err := auth.Authenticate(ctx, account, "wrong"); !errors.Is(err, ErrBadCredentials) {
			b.Fatalf("Authenticate = %v, want ErrBadCredentials", err)
		}
	}
}
