package users

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Store keeps accounts. The file store and the Redis store implement it;
// every method is safe for concurrent use, also by several processes.
type Store interface {
	Lookup
	// List returns every account, sorted by name.
	List(ctx context.Context) ([]Account, error)
	// Add stores new accounts. If any name is taken it fails with an
	// error wrapping ErrExists and stores none.
	Add(ctx context.Context, accounts ...Account) error
	// Modify applies fn to the stored account and stores the result, or
	// fails with ErrNotFound.
	Modify(ctx context.Context, name string, fn func(*Account) error) error
	// Delete removes an account, or fails with ErrNotFound.
	Delete(ctx context.Context, name string) error
}

var (
	_ Store = (*File)(nil)
	_ Store = (*Redis)(nil)
)

// SetPassword replaces the account's hash with one of password.
func (a *Account) SetPassword(password string, cost int, now time.Time) error {
	hash, err := HashPassword(password, cost)
	if err != nil {
		return err
	}
	a.Hash, a.Changed = hash, now.UTC()
	return nil
}

// JoinTeams adds the account to teams.
func (a *Account) JoinTeams(teams []string, now time.Time) error {
	for _, t := range teams {
		if err := ValidateName(t); err != nil {
			return fmt.Errorf("team: %w", err)
		}
	}
	joined := append(slices.Clone(a.Teams), teams...)
	slices.Sort(joined)
	a.Teams, a.Changed = slices.Compact(joined), now.UTC()
	return nil
}

// LeaveTeams removes the account from teams.
func (a *Account) LeaveTeams(teams []string, now time.Time) {
	a.Teams = slices.DeleteFunc(slices.Clone(a.Teams), func(t string) bool {
		return slices.Contains(teams, t)
	})
	a.Changed = now.UTC()
}

// Teams returns every team with its members, both sorted.
func Teams(accounts []Account) map[string][]string {
	teams := map[string][]string{}
	for _, a := range accounts {
		for _, t := range a.Teams {
			teams[t] = append(teams[t], a.Name)
		}
	}
	for _, members := range teams {
		slices.Sort(members)
	}
	return teams
}
