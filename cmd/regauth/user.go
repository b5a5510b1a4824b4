package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/regauth/regauth/users"
)

func newUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the accounts that may log in",
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(newUserAddCommand())
	return cmd
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
			c, err := loadConfig(mustString(cmd, "config"), nil)
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
			store, err := users.OpenFile(c.path(c.Users))
			if err != nil {
				return err
			}
			if err := store.Add(cmd.Context(), acct); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s\n", name)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "team the account belongs to (repeatable)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
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
		return strings.TrimRight(line, "\r\n"), nil
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
