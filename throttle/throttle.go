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
	"sync"
	"time"
)

// Policy sets the limits.
type Policy struct {
	Window       time.Duration // how long failures are remembered
	AccountLimit int           // failures of one account before it waits
	AddressLimit int           // failures from one address before it waits
	// MaxInFlight bounds the password checks of one account under way at
	// once in one process. Failures are known only once bcrypt has run,
	// so without it guesses sent in parallel would all pass the limit
	// check before the first of them failed; with it a window allows at
	// most AccountLimit-1+MaxInFlight guesses per process. It is well
	// above what a CI farm pulling with one robot account sends at once.
	MaxInFlight int
}

// DefaultPolicy allows 10 failures per account and 30 per address in 15
// minutes, and 32 password checks of one account at once: enough for a
// person mistyping and a busy CI farm, far too few to guess a password.
var DefaultPolicy = Policy{Window: 15 * time.Minute, AccountLimit: 10, AddressLimit: 30, MaxInFlight: 32}

// inFlightWait is the Retry-After of an attempt refused because too many
// checks of its account are under way: they end within a bcrypt or two.
const inFlightWait = time.Second

// Counter stores failure counts in fixed windows. Memory keeps them in the
// process; Redis shares them between token servers.
type Counter interface {
	// Count returns the failures of each key in its current window and
	// how long that window still runs.
	Count(ctx context.Context, keys ...string) ([]int, []time.Duration, error)
	// Add records one failure for each key and returns the counts that
	// makes. The first failure of a key starts its window.
	Add(ctx context.Context, window time.Duration, keys ...string) ([]int, []time.Duration, error)
	// Reset forgets the failures of key.
	Reset(ctx context.Context, key string) error
}

// Limiter applies a Policy over a Counter.
type Limiter struct {
	policy  Policy
	counter Counter

	mu       sync.Mutex
	inFlight map[string]int // account → password checks under way here
}

// New returns a Limiter.
func New(p Policy, c Counter) *Limiter {
	return &Limiter{policy: p, counter: c, inFlight: map[string]int{}}
}

func accountKey(account string) string { return "account:" + account }
func addressKey(address string) string { return "address:" + address }

// Outcome is how a password check ended.
type Outcome int

// The outcomes End records.
const (
	Failed    Outcome = iota // wrong password: counts against account and address
	Succeeded                // right password: the account's failures are forgotten
	Undecided                // no answer, such as a store that is down: counts nothing
)

// Begin returns how long an attempt to sign in to account from address
// must wait; zero means it may go ahead, and then the caller must call End
// with its outcome. An account with too many failures waits, whoever asks
// for it; an address with too many waits only for accounts that have
// failed themselves.
func (l *Limiter) Begin(ctx context.Context, account, address string) (time.Duration, error) {
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

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.policy.MaxInFlight > 0 && l.inFlight[account] >= l.policy.MaxInFlight {
		return inFlightWait, nil
	}
	l.inFlight[account]++
	return 0, nil
}

// End records the outcome of an attempt that Begin let go ahead. A
// success forgets the account's failures, its owner having proved who
// they are; the address keeps its count, which a spray would otherwise
// reset with one account of its own.
func (l *Limiter) End(ctx context.Context, account, address string, o Outcome) error {
	l.mu.Lock()
	if l.inFlight[account]--; l.inFlight[account] <= 0 {
		delete(l.inFlight, account)
	}
	l.mu.Unlock()

	switch o {
	case Failed:
		_, _, err := l.counter.Add(ctx, l.policy.Window, accountKey(account), addressKey(address))
		return err
	case Succeeded:
		return l.counter.Reset(ctx, accountKey(account))
	}
	return nil
}
