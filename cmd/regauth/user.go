package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/regauth/regauth/users"
)

func newUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the accounts that may log in",
		Long: `Manage accounts in the store the configuration names: the users file, or
Redis when store (or REGAUTH_STORE) is a redis:// URL. A running token server
sees every change at once.`,
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(
		newUserAddCommand(),
		newUserPasswdCommand(),
		newUserDelCommand(),
		newUserListCommand(),
		newUserStatusCommand("disable", "Stop an account from logging in; its tokens stop working", true),
		newUserStatusCommand("enable", "Let a disabled account log in again", false),
		newUserImportCommand(),
		newUserExportCommand(),
	)
	return cmd
}

// storeCommand loads the configuration and the account store for a
// subcommand of user, team or robot.
func storeCommand(cmd *cobra.Command) (*config, users.Store, error) {
	c, b, err := backendCommand(cmd)
	if err != nil {
		return nil, nil, err
	}
	return c, b.users, nil
}

// backendCommand loads the configuration named by the command's --config
// and opens the stores it names.
func backendCommand(cmd *cobra.Command) (*config, *backend, error) {
	c, err := loadConfig(mustString(cmd, "config"), nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := openBackend(c)
	return c, b, err
}

// listAccounts returns every account of the configured store.
func listAccounts(cmd *cobra.Command) ([]users.Account, error) {
	_, store, err := storeCommand(cmd)
	if err != nil {
		return nil, err
	}
	return store.List(cmd.Context())
}

func newUserAddCommand() *cobra.Command {
	var (
		teams         []string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "add NAME [--team TEAM ...] [--password-stdin]",
		Short: "Add an account with a bcrypt-hashed password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, store, err := storeCommand(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			if err := users.ValidateName(name); err != nil {
				return err
			}
			password, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr(), passwordStdin)
			if err != nil {
				return err
			}
			acct, err := users.NewAccount(name, password, teams, c.BcryptCost, time.Now())
			if err != nil {
				return err
			}
			if err := store.Add(cmd.Context(), acct); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s\n", name)
			warnPathNames(cmd, append([]string{name}, teams...))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "team the account belongs to (repeatable)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

// endTokens revokes every refresh token of account after its password
// changed or it was disabled or removed. The tokens stop working at that
// moment anyway (a disabled account's tokens are refused, a new password
// ends those of the old); revoking them means that enabling the account
// again does not bring them back, and that "token list" shows only tokens
// that work.
func endTokens(cmd *cobra.Command, b *backend, account string) error {
	ts, err := b.tokens.ListTokens(cmd.Context(), account)
	if err != nil {
		return fmt.Errorf("list the refresh tokens of %s: %w", account, err)
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	n, err := b.tokens.RevokeTokens(cmd.Context(), ids...)
	if err != nil {
		return fmt.Errorf("revoke the refresh tokens of %s: %w", account, err)
	}
	if n > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", plural(n, "refresh token of "+account, "refresh tokens of "+account))
	}
	return nil
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// warnPathNames warns about names that ${account} or ${team} rules can
// never match.
func warnPathNames(cmd *cobra.Command, names []string) {
	for _, n := range names {
		if !users.FitsRepositoryPath(n) {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: %q has upper case or @, which docker refuses in "+
				"repository names: rules with ${account} or ${team} give it nothing docker can use\n", n)
		}
	}
}

func newUserPasswdCommand() *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Set an account's password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, b, err := backendCommand(cmd)
			if err != nil {
				return err
			}
			password, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr(), passwordStdin)
			if err != nil {
				return err
			}
			err = b.users.Modify(cmd.Context(), args[0], func(a *users.Account) error {
				return a.SetPassword(password, c.BcryptCost, time.Now())
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "changed the password of %s\n", args[0])
			return endTokens(cmd, b, args[0])
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

func newUserDelCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "del NAME...",
		Short: "Remove accounts",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, b, err := backendCommand(cmd)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := b.users.Delete(cmd.Context(), name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", name)
				if err := endTokens(cmd, b, name); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newUserStatusCommand(verb, short string, disabled bool) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, b, err := backendCommand(cmd)
			if err != nil {
				return err
			}
			for _, name := range args {
				err := b.users.Modify(cmd.Context(), name, func(a *users.Account) error {
					a.Disabled, a.Changed = disabled, time.Now().UTC()
					return nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%sd %s\n", verb, name)
				if disabled {
					if err := endTokens(cmd, b, name); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

func newUserListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List accounts with their teams and times (never their hashes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accts, err := listAccounts(cmd)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tTEAMS\tSTATUS\tCREATED\tCHANGED\tEXPIRES")
			now := time.Now()
			for _, a := range accts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, kind(a), strings.Join(a.Teams, ","),
					status(a, now), a.Created.Format(time.RFC3339), a.Changed.Format(time.RFC3339),
					expiry(a))
			}
			return tw.Flush()
		},
	}
}

func kind(a users.Account) string {
	if a.Robot {
		return "robot"
	}
	return "user"
}

func status(a users.Account, now time.Time) string {
	switch {
	case a.Disabled:
		return "disabled"
	case !a.Active(now):
		return "expired"
	}
	return "active"
}

func expiry(a users.Account) string {
	if a.Expires.IsZero() {
		return "never"
	}
	return a.Expires.Format(time.RFC3339)
}

// readPassword reads a password from in: the first line when fromStdin is
// set or in is not a terminal, otherwise twice at a prompt without echo.
func readPassword(in io.Reader, prompt io.Writer, fromStdin bool) (string, error) {
	f, isFile := in.(*os.File)
	if fromStdin || !isFile || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return "", errors.New("no password on standard input: pipe one in " +
				"(echo ... | regauth ... --password-stdin) or run the command in a terminal")
		}
		return password, nil
	}

	fmt.Fprint(prompt, "Password: ")
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(prompt, "Repeat password: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("passwords do not match")
	}
	return string(first), nil
}

func mustString(cmd *cobra.Command, name string) string {
	s, err := cmd.Flags().GetString(name)
	if err != nil {
		panic(err) // a flag this command does not define is a programming error
	}
	return s
}
