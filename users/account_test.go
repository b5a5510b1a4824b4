package users

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		input string
		ok    bool
	}{
		{"plain", "alice", true},
		{"digits first", "1password", true},
		{"upper case", "Alice", true},
		{"email-like", "alice.smith@example.com", true},
		{"inner punctuation", "a_b-c.d@e", true},
		{"one character", "a", true},
		{"64 bytes", strings.Repeat("a", MaxNameLen), true},
		{"empty", "", false},
		{"65 bytes", strings.Repeat("a", MaxNameLen+1), false},
		{"space inside", "alice smith", false},
		{"leading space", " alice", false},
		{"trailing space", "alice ", false},
		{"tab", "al\tice", false},
		{"newline", "alice\n", false},
		{"NUL", "al\x00ice", false},
		{"DEL", "alice\x7f", false},
		{"colon, the Basic separator", "alice:x", false},
		{"slash, a repository separator", "dev/alice", false},
		{"star, a glob", "a*", false},
		{"question mark", "a?", false},
		{"brackets", "a[b]", false},
		{"dollar, a variable", "${account}", false},
		{"unicode letter", "alicé", false},
		{"unicode look-alike", "аlice", false}, // Cyrillic а
		{"leading dot", ".alice", false},
		{"leading dash, a flag", "-alice", false},
		{"leading underscore", "_alice", false},
		{"leading at", "@alice", false},
		{"dot only", ".", false},
		{"dot dot", "..", false},
		{"invalid UTF-8", "a\xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.input)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tc.input, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("ValidateName(%q) = %v, want ErrInvalidName", tc.input, err)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"short", "s3cret", true},
		{"72 bytes", strings.Repeat("p", 72), true},
		{"72 bytes of 3-byte runes", strings.Repeat("€", 24), true},
		{"spaces and symbols", " pass word:/*$ ", true},
		{"73 bytes", strings.Repeat("p", 73), false},
		{"75 bytes in 25 runes", strings.Repeat("€", 25), false},
		{"empty", "", false},
		{"invalid UTF-8", "pass\xffword", false},
		{"truncated rune", "pass\xe2\x82", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePassword(tc.password)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidatePassword = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPassword) {
				t.Fatalf("ValidatePassword = %v, want ErrInvalidPassword", err)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestNewAccount(t *testing.T) {
	local := time.FixedZone("UTC+2", 2*60*60)
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, local)
	tests := []struct {
		name      string
		account   string
		password  string
		teams     []string
		wantTeams []string
		wantErr   error
	}{
		{"no teams", "alice", "s3cret", nil, nil, nil},
		{"teams sorted and deduplicated", "alice", "s3cret",
			[]string{"ops", "dev", "ops"}, []string{"dev", "ops"}, nil},
		{"invalid name", "al ice", "s3cret", nil, nil, ErrInvalidName},
		{"invalid team", "alice", "s3cret", []string{"dev", "a/b"}, nil, ErrInvalidName},
		{"empty password", "alice", "", nil, nil, ErrInvalidPassword},
		{"73-byte password", "alice", strings.Repeat("x", 73), nil, nil, ErrInvalidPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			teams := slices.Clone(tc.teams)
			a, err := NewAccount(tc.account, tc.password, teams, bcrypt.MinCost, now)
			if !slices.Equal(teams, tc.teams) {
				t.Errorf("NewAccount changed the caller's teams to %q", teams)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("NewAccount = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewAccount: %v", err)
			}

			if a.Name != tc.account || !slices.Equal(a.Teams, tc.wantTeams) || a.Disabled {
				t.Errorf("account = %s %q disabled=%v, want %s %q enabled",
					a.Name, a.Teams, a.Disabled, tc.account, tc.wantTeams)
			}
			if a.Created.Location() != time.UTC || !a.Created.Equal(now) || !a.Changed.Equal(now) {
				t.Errorf("times = %v, %v, want %v in UTC", a.Created, a.Changed, now)
			}
			if strings.Contains(a.Hash, tc.password) {
				t.Error("hash holds the password in clear")
			}
			if err := bcrypt.CompareHashAndPassword([]byte(a.Hash), []byte(tc.password)); err != nil {
				t.Errorf("hash does not match the password: %v", err)
			}
		})
	}
}

func TestAccountChanges(t *testing.T) {
	later := testTime.Add(time.Hour)
	tests := []struct {
		name      string
		change    func(*Account) error
		wantTeams []string
		wantErr   error
	}{
		{"join new and existing teams", func(a *Account) error {
			return a.JoinTeams([]string{"qa", "dev"}, later)
		}, []string{"dev", "ops", "qa"}, nil},
		{"join an invalid team", func(a *Account) error {
			return a.JoinTeams([]string{"a b"}, later)
		}, []string{"dev", "ops"}, ErrInvalidName},
		{"leave one team and one not joined", func(a *Account) error {
			a.LeaveTeams([]string{"ops", "qa"}, later)
			return nil
		}, []string{"dev"}, nil},
		{"new password", func(a *Account) error {
			return a.SetPassword("n3w", bcrypt.MinCost, later)
		}, []string{"dev", "ops"}, nil},
		{"new password too long", func(a *Account) error {
			return a.SetPassword(strings.Repeat("n", 73), bcrypt.MinCost, later)
		}, []string{"dev", "ops"}, ErrInvalidPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := testAccount(t, "alice", "old", "dev", "ops")
			a := orig
			a.Teams = slices.Clone(orig.Teams)

			err := tc.change(&a)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("change = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(a.Teams, tc.wantTeams) {
				t.Errorf("teams = %q, want %q", a.Teams, tc.wantTeams)
			}
			if err != nil {
				assertSameAccount(t, a, orig)
				return
			}
			if !a.Changed.Equal(later) || !a.Created.Equal(orig.Created) {
				t.Errorf("created, changed = %v, %v; want %v, %v", a.Created, a.Changed, orig.Created, later)
			}
		})
	}
}

func TestTeams(t *testing.T) {
	accts := []Account{
		{Name: "carol", Teams: []string{"dev"}},
		{Name: "alice", Teams: []string{"dev", "ops"}},
		{Name: "bob"},
	}
	got := Teams(accts)
	want := map[string][]string{"dev": {"alice", "carol"}, "ops": {"alice"}}
	if len(got) != len(want) {
		t.Fatalf("Teams = %q, want %q", got, want)
	}
	for team, members := range want {
		if !slices.Equal(got[team], members) {
			t.Errorf("team %s = %q, want %q", team, got[team], members)
		}
	}
}
