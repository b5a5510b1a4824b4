package users

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrBadCredentials is returned for an unknown account, a disabled one or
// a wrong password alike, so that callers cannot tell them apart.
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
}

// NewAuthenticator returns an Authenticator over store.
func NewAuthenticator(store Lookup, cost int) (*Authenticator, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("regauth-unknown-account"), cost)
	if err != nil {
		return nil, fmt.Errorf("make dummy hash: %w", err)
	}
	return &Authenticator{store: store, dummy: dummy}, nil
}

// Authenticate returns the account named name if password is its password.
// It returns ErrBadCredentials when it is not, and the store's error when
// the store cannot answer.
func (a *Authenticator) Authenticate(ctx context.Context, name, password string) (Account, error) {
	acct, err := a.store.Lookup(ctx, name)
	if errors.Is(err, ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(a.dummy, []byte(password))
		return Account{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(acct.Hash), []byte(password)) != nil || !acct.Active(time.Now()) {
		return Account{}, ErrBadCredentials
	}
	return acct, nil
}
