package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	"github.com/regauth/regauth/internal/atomicfile"
	"github.com/regauth/regauth/users"
)

func newUserImportCommand() *cobra.Command {
	var teams []string
	cmd := &cobra.Command{
		Use:   "import FILE [--team TEAM ...]",
		Short: "Import accounts from an htpasswd file (htpasswd -B) or a users file",
		Long: `Import accounts into the configured store. FILE is either an htpasswd file
whose bcrypt hashes ($2y$, $2a$, $2b$, as htpasswd -B writes them) are taken
as they are, or a users file as "user export" writes it, which is how
accounts move between the file store and Redis. Lines with other hash kinds
and accounts that exist already are skipped with a message.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, store, err := storeCommand(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			accts, unusable, err := importAccounts(cmd, data, teams)
			if err != nil {
				return err
			}

			fresh, err := withoutExisting(cmd, store, accts)
			if err != nil {
				return err
			}
			// One Add for all: the file store then writes the file once.
			if err := store.Add(cmd.Context(), fresh...); err != nil {
				return err
			}
			warnCosts(cmd, fresh, c.BcryptCost)
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s; skipped %s that exist and %s that cannot be imported\n",
				plural(len(fresh), "account", "accounts"), plural(len(accts)-len(fresh), "account", "accounts"),
				plural(unusable, "line", "lines"))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "team every imported account joins (repeatable)")
	return cmd
}

// warnCosts warns about imported hashes of another bcrypt cost than new
// ones get. An unknown name costs a bcrypt check at the configured cost, so
// a wrong password for these accounts is answered faster or slower than
// for a name that does not exist, which tells a prober that they do.
func warnCosts(cmd *cobra.Command, accts []users.Account, cost int) {
	n := 0
	for _, a := range accts {
		if c, err := bcrypt.Cost([]byte(a.Hash)); err == nil && c != cost {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s a bcrypt cost other than bcrypt_cost (%d): "+
			"how long a wrong password takes tells that they exist; have them set new passwords\n",
			plural(n, "imported account has", "imported accounts have"), cost)
	}
}

// withoutExisting drops, with a message, the accounts the store has.
func withoutExisting(cmd *cobra.Command, store users.Store, accts []users.Account) ([]users.Account, error) {
	existing, err := store.List(cmd.Context())
	if err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(existing))
	for _, a := range existing {
		taken[a.Name] = true
	}
	fresh := accts[:0:0]
	for _, a := range accts {
		if taken[a.Name] {
			fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: account exists\n", a.Name)
			continue
		}
		fresh = append(fresh, a)
	}
	return fresh, nil
}

// importAccounts reads data as a users file if it looks like one and as
// htpasswd otherwise, and reports the lines it skips and how many.
func importAccounts(cmd *cobra.Command, data []byte, teams []string) (accts []users.Account, unusable int, err error) {
	now := time.Now()
	if isUsersFile(data) {
		parsed, err := users.ParseFile(data)
		if err != nil {
			return nil, 0, err
		}
		for _, name := range slices.Sorted(maps.Keys(parsed)) {
			a := parsed[name]
			if err := a.JoinTeams(teams, a.Changed); err != nil {
				return nil, 0, err
			}
			accts = append(accts, a)
		}
		return accts, 0, nil
	}

	entries, skips, err := users.ParseHtpasswd(bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	for _, s := range skips {
		name := s.Name
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped line %d, %s: %s\n", s.Line, name, s.Reason)
	}
	accts = make([]users.Account, 0, len(entries))
	for _, e := range entries {
		a := users.Account{Name: e.Name, Hash: e.Hash, Created: now.UTC(), Changed: now.UTC()}
		if err := a.JoinTeams(teams, now); err != nil {
			return nil, 0, err
		}
		accts = append(accts, a)
	}
	return accts, len(skips), nil
}

// isUsersFile reports whether data is a users file rather than htpasswd:
// its first line that is neither blank nor a comment is the "users:" key.
// An htpasswd line for an account named "users" is "users:" followed by a
// hash, never by nothing, a space or a brace.
func isUsersFile(data []byte) bool {
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "users:")
		return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
	}
	return false
}

func newUserExportCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export --output FILE",
		Short: "Write every account to a users file, hashes included, for user import",
		Long: `Write every account, with its bcrypt hash and teams, to FILE (mode 0600) in
the users file format. "user import FILE" with another store configured
reads it back: this is how accounts move between the file store and Redis.
The hashes go to the file only, never to the terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accts, err := listAccounts(cmd)
			if err != nil {
				return err
			}
			m := make(map[string]users.Account, len(accts))
			for _, a := range accts {
				m[a.Name] = a
			}
			data, err := users.MarshalFile(m)
			if err != nil {
				return err
			}
			if err := atomicfile.Write(output, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d accounts to %s\n", len(accts), output)
			return nil
		},
	}
	cmd.Flags().StringVar(&output, "output", "", "file to write (mode 0600)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
