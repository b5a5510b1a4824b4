package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/crypto/bcrypt"
)

// ErrBadCredentials is wrapped by the error for an unknown account, a
// disabled or expired one and a wrong password alike, so that callers
// branching on it cannot tell them apart; the wrapping text says which, for
// the operator's log only.
var ErrBadCredentials = errors.New("bad credentials")

// Lookup finds accounts by name; it returns ErrNotFound for a name it does
// not know and another error when the store cannot answer.
type Lookup interface {
	Lookup(ctx context.Context, name string) (Account, error)
}

// Authenticator checks passwords against the accounts of a store.
type Authenticator struct {
	store Lookup
	// dummy is a hash of a random password at the cost of new hashes.
	// Comparing against it for an unknown account makes that case cost
	// what a wrong password costs, so timing does not reveal which
	// accounts exist.
	dummy []byte

	// cache remembers password checks that succeeded; see EnableCache.
	cache *expirable.LRU[[sha256.Size]byte, string]
	key   []byte
}

// NewAuthenticator returns an Authenticator over store.
func NewAuthenticator(store Lookup, cost int) (*Authenticator, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("make dummy hash: %w", err)
	}
	return &Authenticator{store: store, dummy: dummy}, nil
}

// EnableCache makes the Authenticator remember up to size successful
// password checks for ttl, so that a client asking for many tokens in a
// row (a CI job pulling many images) pays for bcrypt once.
//
// An entry is keyed by HMAC-SHA256 of the account name and the password,
// under a key drawn at random when the cache is made and never stored:
// the cache holds no password and no hash of one that could be attacked
// offline without that key. Its value is the bcrypt hash the password
// matched. A hit counts only if the account, read afresh from the store,
// still has that very hash, so a new password ends every entry of the old
// one at once; the account's teams and status are always read afresh too.
// An unknown account never reaches the cache. The trade: someone able to
// read this process's memory could test guesses for the cached entries at
// the speed of HMAC rather than bcrypt, for at most ttl after their last
// successful use.
func (a *Authenticator) EnableCache(size int, ttl time.Duration) {
	if size <= 0 || ttl <= 0 {
		a.cache = nil
		return
	}
	a.key = []byte(rand.Text() + rand.Text())
	a.cache = expirable.NewLRU[[sha256.Size]byte, string](size, nil, ttl)
}

// Authenticate returns the account named name if password is its password.
// It returns ErrBadCredentials when it is not, and the store's error when
// the store cannot answer.
func (a *Authenticator) Authenticate(ctx context.Context, name, password string) (Account, error) {
	acct, err := a.store.Lookup(ctx, name)
	if errors.Is(err, ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(a.dummy, []byte(password))
		return Account{}, fmt.Errorf("%w: unknown account", ErrBadCredentials)
	}
	if err != nil {
		return Account{}, err
	}

	// The password is checked first whatever the account's state, so that
	// a disabled account costs the same time as any other.
	switch {
	case !a.checkPassword(acct, password):
		return Account{}, fmt.Errorf("%w: wrong password", ErrBadCredentials)
	case !acct.Active(time.Now()):
		return Account{}, fmt.Errorf("%w: account disabled or expired", ErrBadCredentials)
	}
	return acct, nil
}

func (a *Authenticator) checkPassword(acct Account, password string) bool {
	if a.cache == nil {
		return bcrypt.CompareHashAndPassword([]byte(acct.Hash), []byte(password)) == nil
	}
	key := a.mac(acct.Name, password)
	if hash, ok := a.cache.Get(key); ok && hash == acct.Hash {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(acct.Hash), []byte(password)) != nil {
		return false
	}
	a.cache.Add(key, acct.Hash)
	return true
}

func (a *Authenticator) mac(name, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}
