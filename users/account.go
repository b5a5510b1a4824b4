package users

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Account is a user of the registry.
type Account struct {
	Name     string   `yaml:"-"`
	Hash     string   `yaml:"password"` // bcrypt hash, never a password
	Teams    []string `yaml:"teams,omitempty"`
	Disabled bool     `yaml:"disabled,omitempty"`
	// Robot marks an account for machines (CI), made by "robot add".
	Robot bool `yaml:"robot,omitempty"`
	// Expires is when the account stops working; zero means never.
	Expires time.Time `yaml:"expires,omitempty"`
	Created time.Time `yaml:"created"`
	Changed time.Time `yaml:"changed"`
}

// Active reports whether the account may sign in at now: not disabled and
// not expired.
func (a *Account) Active(now time.Time) bool {
	return !a.Disabled && (a.Expires.IsZero() || now.Before(a.Expires))
}

// Stamp identifies the account's current password. Refresh tokens carry
// the stamp of the password they were issued under, so setting a new
// password ends them all without a list to clean up.
func (a *Account) Stamp() string {
	sum := sha256.Sum256([]byte(a.Hash))
	return hex.EncodeToString(sum[:8])
}

// Limits on names and passwords.
const (
	MaxNameLen = 64
	// MaxPasswordLen is bcrypt's limit: it ignores every byte past the 72nd,
	// so a longer password is refused rather than silently cut.
	MaxPasswordLen = 72
	// DefaultCost is the bcrypt cost of new hashes.
	DefaultCost = 10
)

// Errors of validation and lookup.
var (
	ErrInvalidName     = errors.New("invalid name")
	ErrInvalidPassword = errors.New("invalid password")
	ErrNotFound        = errors.New("no such account")
	ErrExists          = errors.New("account exists")
)

// ValidateName checks an account or team name: 1 to 64 bytes of ASCII
// letters, digits and ".", "_", "-", "@", starting with a letter or digit.
// The set excludes ":" (the Basic credential separator), "/" and glob
// characters, so a name can stand in a repository pattern as ${account}.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w %q: must be 1 to %d characters", ErrInvalidName, name, MaxNameLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if alnum || i > 0 && (r == '.' || r == '_' || r == '-' || r == '@') {
			continue
		}
		return fmt.Errorf("%w %q: only letters, digits and . _ - @ are allowed, "+
			"starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// FitsRepositoryPath reports whether name can stand in a repository path
// that docker accepts, as ${account} and ${team} in rules do. docker
// refuses upper case and "@" in repository names, so "${account}/**" is of
// no use to "Alice" or "a@b.example". Such names are valid; rules just
// have to name them.
func FitsRepositoryPath(name string) bool {
	return !strings.ContainsAny(name, "@ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// ValidatePassword checks that a new password is usable with bcrypt.
func ValidatePassword(password string) error {
	switch {
	case password == "":
		return fmt.Errorf("%w: empty", ErrInvalidPassword)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("%w: longer than %d bytes, which bcrypt would cut", ErrInvalidPassword, MaxPasswordLen)
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidPassword)
	}
	return nil
}

// HashPassword validates password and returns its bcrypt hash.
func HashPassword(password string, cost int) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// NewAccount returns an account with a hash of password.
func NewAccount(name, password string, teams []string, cost int, now time.Time) (Account, error) {
	if err := ValidateName(name); err != nil {
		return Account{}, err
	}
	for _, t := range teams {
		if err := ValidateName(t); err != nil {
			return Account{}, fmt.Errorf("team: %w", err)
		}
	}
	hash, err := HashPassword(password, cost)
	if err != nil {
		return Account{}, err
	}
	teams = slices.Clone(teams)
	slices.Sort(teams)
	return Account{
		Name:    name,
		Hash:    hash,
		Teams:   slices.Compact(teams),
		Created: now.UTC(),
		Changed: now.UTC(),
	}, nil
}

// bcryptCost returns the cost of a bcrypt hash, failing if hash is not one.
// The $2a$, $2b$ and $2y$ prefixes of htpasswd -B are all accepted.
func bcryptCost(hash string) (int, error) {
	return bcrypt.Cost([]byte(hash))
}
