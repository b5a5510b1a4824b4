package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/users"
)

func newTeamCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "team",
		Short: "Manage team memberships",
		Long: `A team exists while it has members: adding an account to a team creates it,
removing the last member ends it. Rules name teams with "teams:".`,
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(
		newTeamChangeCommand("add", "Add accounts to a team", func(a *users.Account, team string) error {
			return a.JoinTeams([]string{team}, time.Now())
		}),
		newTeamChangeCommand("del", "Remove accounts from a team", func(a *users.Account, team string) error {
			if !slices.Contains(a.Teams, team) {
				return fmt.Errorf("%s is not in team %s", a.Name, team)
			}
			a.LeaveTeams([]string{team}, time.Now())
			return nil
		}),
		newTeamListCommand(),
	)
	return cmd
}

func newTeamChangeCommand(verb, short string, change func(*users.Account, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " TEAM MEMBER...",
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, store, err := storeCommand(cmd)
			if err != nil {
				return err
			}
			team := args[0]
			if err := users.ValidateName(team); err != nil {
				return err
			}
			// Every member must exist before any changes, so that a typo
			// in the list does not leave the team half changed.
			for _, member := range args[1:] {
				if _, err := store.Lookup(cmd.Context(), member); err != nil {
					return fmt.Errorf("%s: %w", member, err)
				}
			}
			for _, member := range args[1:] {
				err := store.Modify(cmd.Context(), member, func(a *users.Account) error {
					return change(a, team)
				})
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "team %s: %s %s\n", team, verb, strings.Join(args[1:], " "))
			return nil
		},
	}
}

func newTeamListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List teams and their members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accts, err := listAccounts(cmd)
			if err != nil {
				return err
			}
			teams := users.Teams(accts)
			for _, t := range slices.Sorted(maps.Keys(teams)) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", t, strings.Join(teams[t], " "))
			}
			return nil
		},
	}
}
