package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/regauth/regauth/users"
)

// TestAccountChangesEndRefreshTokens issues refresh tokens and checks that
// each command that should end them does, for good: enabling a disabled
// account again must not bring its old tokens back.
func TestAccountChangesEndRefreshTokens(t *testing.T) {
	tests := []struct {
		name    string
		steps   [][]string // commands after the token was issued
		stdin   string
		revoked bool
	}{
		{name: "disable then enable", steps: [][]string{{"user", "disable", "alice"}, {"user", "enable", "alice"}},
			revoked: true},
		{name: "password change", steps: [][]string{{"user", "passwd", "alice", "--password-stdin"}},
			stdin: "new-password\n", revoked: true},
		{name: "removal", steps: [][]string{{"user", "del", "alice"}}, revoked: true},
		{name: "team change keeps them", steps: [][]string{{"team", "add", "ops", "alice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newDeployment(t)
			if _, _, err := runCLI(t, "pw\n", "user", "add", "alice", "--password-stdin", "--config", cfg); err != nil {
				t.Fatal(err)
			}
			raw := issueRefreshToken(t, cfg, "alice")

			for _, step := range tt.steps {
				out, _, err := runCLI(t, tt.stdin, append(step, "--config", cfg)...)
				if err != nil {
					t.Fatalf("%v: %v", step, err)
				}
				if tt.revoked && strings.Contains(out, "revoked") != (step[1] != "enable") {
					t.Errorf("%v says %q", step, out)
				}
			}

			if tt.name == "removal" {
				if _, _, err := runCLI(t, "pw\n", "user", "add", "alice", "--password-stdin", "--config", cfg); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := checkRefreshToken(t, cfg, raw)
			if tt.revoked != errors.Is(err, users.ErrInvalidToken) {
				t.Fatalf("refresh token after %v: err %v, want ended %v", tt.steps, err, tt.revoked)
			}
			list, _, err := runCLI(t, "", "token", "list", "--config", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if listed := strings.Contains(list, strings.SplitN(raw, ".", 2)[0]); listed == tt.revoked {
				t.Errorf("token listed = %v after %v:\n%s", listed, tt.steps, list)
			}
		})
	}
}

func refresher(t *testing.T, cfg string) *users.Refresher {
	t.Helper()
	c, err := loadConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openBackend(c)
	if err != nil {
		t.Fatal(err)
	}
	return &users.Refresher{Accounts: b.users, Tokens: b.tokens}
}

func issueRefreshToken(t *testing.T, cfg, account string) string {
	t.Helper()
	r := refresher(t, cfg)
	acct, err := r.Accounts.Lookup(t.Context(), account)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := r.Issue(t.Context(), acct, "registry", "docker")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func checkRefreshToken(t *testing.T, cfg, raw string) (users.Account, users.RefreshToken, error) {
	t.Helper()
	return refresher(t, cfg).Check(t.Context(), raw, "registry", "docker")
}
