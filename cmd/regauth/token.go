package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "List and revoke refresh tokens (what docker login keeps)",
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(newTokenListCommand(), newTokenRevokeCommand())
	return cmd
}

func newTokenListCommand() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "list [--user NAME]",
		Short: "List refresh tokens by id, never their secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, b, err := backendCommand(cmd)
			if err != nil {
				return err
			}
			ts, err := b.tokens.ListTokens(cmd.Context(), user)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tACCOUNT\tCLIENT\tSERVICE\tCREATED\tEXPIRES")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Account, t.ClientID, t.Service,
					t.Created.Format(time.RFC3339), t.Expires.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only this account's tokens")
	return cmd
}

func newTokenRevokeCommand() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "revoke (ID... | --user NAME)",
		Short: "Revoke refresh tokens; their holders must log in again",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && user == "":
				return errors.New("name the tokens: give their ids, or --user NAME for all of an account's")
			case len(args) > 0 && user != "":
				return errors.New("give token ids or --user NAME, not both")
			}
			_, b, err := backendCommand(cmd)
			if err != nil {
				return err
			}
			ids := args
			if user != "" {
				ts, err := b.tokens.ListTokens(cmd.Context(), user)
				if err != nil {
					return err
				}
				for _, t := range ts {
					ids = append(ids, t.ID)
				}
			}
			n, err := b.tokens.RevokeTokens(cmd.Context(), ids...)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", plural(n, "refresh token", "refresh tokens"))
			if unknown := len(args) - n; unknown > 0 {
				return fmt.Errorf("%s: unknown or already revoked", plural(unknown, "id", "ids"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "revoke every token of this account")
	return cmd
}
