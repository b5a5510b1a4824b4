// Package throttle slows down password guessing. It counts failed logins
// per account and per client address in fixed windows and says when a new
// attempt must wait.
//
// The rule protects accounts without letting one client lock out another:
// an account with too many failures waits, whoever asks for it; a client
// address with too many failures waits only for accounts that have failed
// recently themselves. So a password spray from one address is stopped
// after one round, while a colleague behind the same address signs in to
// an account nobody attacked.
package throttle

import (
	"context"
	"time"
)

// Policy sets the limits.
type Policy struct {
	Window       time.Duration // how long failures are remembered
	AccountLimit int           // failures of one account before it waits
	AddressLimit int           // failures from one address before it waits
}

// DefaultPolicy allows 10 failures per account and 30 per address in 15
// minutes: enough for a person mistyping, far too few to guess a password.
var DefaultPolicy = Policy{Window: 15 * time.Minute, AccountLimit: 10, AddressLimit: 30}

// Counter stores attempt counts in fixed windows. Memory keeps them in the
// process; Redis shares them between token servers.
type Counter interface {
	// Add counts one more attempt for each key, and returns the counts
	// that makes and how long each key's window still runs. The first
	// attempt of a key starts its window.
	Add(ctx context.Context, window time.Duration, keys ...string) ([]int, []time.Duration, error)
	// Take counts one attempt of key less, if it has any.
	Take(ctx context.Context, key string) error
	// Reset forgets the attempts of key.
	Reset(ctx context.Context, key string) error
}

// Limiter applies a Policy over a Counter.
type Limiter struct {
	policy  Policy
	counter Counter
}

// New returns a Limiter.
func New(p Policy, c Counter) *Limiter { return &Limiter{policy: p, counter: c} }

func accountKey(account string) string { return "account:" + account }
func addressKey(address string) string { return "address:" + address }

// Attempt counts an attempt to sign in to account from address, before its
// password is checked, and returns how long it must wait instead; zero
// means it may go ahead. Counting first, and taking the count back when
// the password turns out right, is what makes the limit hold for guesses
// sent in parallel: each is counted as it arrives, not after its bcrypt.
func (l *Limiter) Attempt(ctx context.Context, account, address string) (time.Duration, error) {
	counts, ttls, err := l.counter.Add(ctx, l.policy.Window, accountKey(account), addressKey(address))
	if err != nil {
		return 0, err
	}
	acct, addr := counts[0], counts[1] // this attempt included
	switch {
	case acct > l.policy.AccountLimit:
		return ttls[0], nil
	case addr > l.policy.AddressLimit && acct > 1:
		return min(ttls[0], ttls[1]), nil
	}
	return 0, nil
}

// Succeeded records that the attempt had the right password: the
// account's count is forgotten, its owner has proved who they are, and the
// address's count takes this attempt back. The address keeps the rest of
// its count, which a spray would otherwise reset with one account of its
// own.
func (l *Limiter) Succeeded(ctx context.Context, account, address string) error {
	if err := l.counter.Reset(ctx, accountKey(account)); err != nil {
		return err
	}
	return l.counter.Take(ctx, addressKey(address))
}

// Cancel takes back an attempt that could not be decided, such as one
// that found the account store down: it must not count against anyone.
func (l *Limiter) Cancel(ctx context.Context, account, address string) error {
	if err := l.counter.Take(ctx, accountKey(account)); err != nil {
		return err
	}
	return l.counter.Take(ctx, addressKey(address))
}
