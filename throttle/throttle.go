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

// Counter stores failure counts in fixed windows. Memory keeps them in the
// process; Redis shares them between token servers.
type Counter interface {
	// Count returns the failures of each key in its current window and
	// how long that window still runs.
	Count(ctx context.Context, keys ...string) ([]int, []time.Duration, error)
	// Add records one failure for each key.
	Add(ctx context.Context, window time.Duration, keys ...string) error
	// Reset forgets the failures of key.
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

// Wait returns how long an attempt to sign in to account from address must
// wait; zero means it may go ahead.
func (l *Limiter) Wait(ctx context.Context, account, address string) (time.Duration, error) {
	counts, ttls, err := l.counter.Count(ctx, accountKey(account), addressKey(address))
	if err != nil {
		return 0, err
	}
	acct, addr := counts[0], counts[1]
	switch {
	case acct >= l.policy.AccountLimit:
		return ttls[0], nil
	case addr >= l.policy.AddressLimit && acct > 0:
		return min(ttls[0], ttls[1]), nil
	}
	return 0, nil
}

// Failed records a failed attempt.
func (l *Limiter) Failed(ctx context.Context, account, address string) error {
	return l.counter.Add(ctx, l.policy.Window, accountKey(account), addressKey(address))
}

// Succeeded forgets the account's failures: its owner has proved who they
// are. The address keeps its count, which a spray would otherwise reset
// with one account of its own.
func (l *Limiter) Succeeded(ctx context.Context, account string) error {
	return l.counter.Reset(ctx, accountKey(account))
}
