package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RefreshToken is the record of a long-lived token that a client keeps
// instead of a password (docker stores it as its identity token). The
// token itself is "ID.SECRET"; only a hash of the secret is kept.
type RefreshToken struct {
	ID         string    `yaml:"-"`
	Account    string    `yaml:"account"`
	Service    string    `yaml:"service"`
	ClientID   string    `yaml:"client_id"`
	SecretHash string    `yaml:"secret_sha256"`
	Stamp      string    `yaml:"stamp"` // Account.Stamp when issued
	Created    time.Time `yaml:"created"`
	Expires    time.Time `yaml:"expires"`
}

// TokenStore keeps refresh token records.
type TokenStore interface {
	SaveToken(ctx context.Context, t RefreshToken) error
	// LookupToken returns the record with id, or ErrNotFound.
	LookupToken(ctx context.Context, id string) (RefreshToken, error)
	// ListTokens returns the records of account, or of everyone when
	// account is empty, oldest first.
	ListTokens(ctx context.Context, account string) ([]RefreshToken, error)
	// RevokeTokens removes the records with the given ids and returns how
	// many there were.
	RevokeTokens(ctx context.Context, ids ...string) (int, error)
}

// ErrInvalidToken is returned for a refresh token that is malformed,
// unknown, expired, revoked, issued for another service or client, or
// whose account changed its password, was disabled or removed. Callers
// cannot tell which: the reason is for the log, through the wrapped text.
var ErrInvalidToken = errors.New("invalid refresh token")

// DefaultRefreshTTL is how long a refresh token lives unless configured.
const DefaultRefreshTTL = 90 * 24 * time.Hour

// MaxTokensPerAccount bounds the refresh tokens one account holds. Every
// docker login makes one, and a CI job that logs in for every run would
// otherwise pile up 90 days of them; past the bound the oldest go, so a
// machine that has not logged in since the last hundred others did must
// log in again.
const MaxTokensPerAccount = 100

// Refresher issues and checks refresh tokens.
type Refresher struct {
	Accounts Lookup
	Tokens   TokenStore
	TTL      time.Duration
	Now      func() time.Time
}

func (r *Refresher) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Issue creates a refresh token for acct, bound to service and clientID,
// and returns it. The returned string is shown to the client once.
func (r *Refresher) Issue(ctx context.Context, acct Account, service, clientID string) (string, RefreshToken, error) {
	// Full precision: the order of tokens made in one second decides which
	// go first past MaxTokensPerAccount.
	now := r.now().UTC()
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultRefreshTTL
	}
	secret := rand.Text()
	t := RefreshToken{
		ID:         rand.Text(),
		Account:    acct.Name,
		Service:    service,
		ClientID:   clientID,
		SecretHash: hashSecret(secret),
		Stamp:      acct.Stamp(),
		Created:    now,
		Expires:    now.Add(ttl),
	}
	if !acct.Expires.IsZero() && acct.Expires.Before(t.Expires) {
		t.Expires = acct.Expires
	}
	if err := r.Tokens.SaveToken(ctx, t); err != nil {
		return "", RefreshToken{}, err
	}
	if err := r.dropOldest(ctx, acct.Name); err != nil {
		return "", RefreshToken{}, err
	}
	return t.ID + "." + secret, t, nil
}

// dropOldest revokes the account's oldest tokens past MaxTokensPerAccount.
func (r *Refresher) dropOldest(ctx context.Context, account string) error {
	ts, err := r.Tokens.ListTokens(ctx, account) // oldest first
	if err != nil || len(ts) <= MaxTokensPerAccount {
		return err
	}
	ids := make([]string, 0, len(ts)-MaxTokensPerAccount)
	for _, t := range ts[:len(ts)-MaxTokensPerAccount] {
		ids = append(ids, t.ID)
	}
	_, err = r.Tokens.RevokeTokens(ctx, ids...)
	return err
}

// Check returns the account of a refresh token if the token is good for
// service and clientID now. The account is read afresh, so its teams and
// status are current; a changed password ends the token.
func (r *Refresher) Check(ctx context.Context, raw, service, clientID string) (Account, RefreshToken, error) {
	id, secret, ok := strings.Cut(raw, ".")
	if !ok || id == "" || secret == "" || len(raw) > 128 {
		return Account{}, RefreshToken{}, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	t, err := r.Tokens.LookupToken(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Account{}, RefreshToken{}, fmt.Errorf("%w: unknown or revoked", ErrInvalidToken)
	}
	if err != nil {
		return Account{}, RefreshToken{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(t.SecretHash)) != 1 {
		return Account{}, t, fmt.Errorf("%w: wrong secret", ErrInvalidToken)
	}

	now := r.now()
	switch {
	case !now.Before(t.Expires):
		return Account{}, t, fmt.Errorf("%w: expired", ErrInvalidToken)
	case t.Service != service:
		return Account{}, t, fmt.Errorf("%w: issued for another service", ErrInvalidToken)
	case t.ClientID != clientID:
		return Account{}, t, fmt.Errorf("%w: issued to another client", ErrInvalidToken)
	}

	acct, err := r.Accounts.Lookup(ctx, t.Account)
	switch {
	case errors.Is(err, ErrNotFound):
		return Account{}, t, fmt.Errorf("%w: account removed", ErrInvalidToken)
	case err != nil:
		return Account{}, t, err
	case !acct.Active(now):
		return Account{}, t, fmt.Errorf("%w: account disabled or expired", ErrInvalidToken)
	case acct.Stamp() != t.Stamp:
		return Account{}, t, fmt.Errorf("%w: password changed", ErrInvalidToken)
	}
	return acct, t, nil
}

// hashSecret is SHA-256, not bcrypt: the secret is 128 random bits, far
// beyond guessing, and refresh is the common path of every docker pull.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
