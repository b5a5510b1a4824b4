package main

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/users"
)

func newRobotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "robot",
		Short: "Manage robot accounts for CI",
		Long: `A robot account is an account for a machine: its secret is made by regauth
and shown once, and it can expire. It logs in like a user (docker login,
skopeo --creds, Basic or password grant) and the rules limit it like anyone.
List, disable and remove robots with "user list", "user disable" and
"user del".`,
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(newRobotAddCommand())
	return cmd
}

func newRobotAddCommand() *cobra.Command {
	var (
		teams   []string
		expires string
	)
	cmd := &cobra.Command{
		Use:   "add NAME [--team TEAM ...] [--expires 30d]",
		Short: "Add a robot account and print its secret once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, store, err := storeCommand(cmd)
			if err != nil {
				return err
			}
			now := time.Now()
			secret := rand.Text() + rand.Text()
			acct, err := users.NewAccount(args[0], secret, teams, c.BcryptCost, now)
			if err != nil {
				return err
			}
			acct.Robot = true
			if expires != "" {
				d, err := parseLifetime(expires)
				if err != nil {
					return err
				}
				acct.Expires = now.Add(d).UTC().Truncate(time.Second)
			}
			if err := store.Add(cmd.Context(), acct); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added robot %s", acct.Name)
			if !acct.Expires.IsZero() {
				fmt.Fprintf(out, ", expires %s", acct.Expires.Format(time.RFC3339))
			}
			fmt.Fprintf(out, "\nsecret (shown once, keep it in your CI's secret store):\n%s\n", secret)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "team the robot belongs to (repeatable)")
	cmd.Flags().StringVar(&expires, "expires", "", "lifetime, such as 30d, 12h or 90m (default: never)")
	return cmd
}

// parseLifetime reads a duration that may also count days, as "30d".
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("lifetime %q: want a positive number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("lifetime %q: want a positive duration such as 30d or 12h", s)
	}
	return d, nil
}
