package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/acl"
)

func newACLCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Inspect the rules",
	}
	cmd.AddCommand(newACLCheckCommand())
	return cmd
}

func newACLCheckCommand() *cobra.Command {
	var (
		configPath string
		user       string
		anonymous  bool
		scopes     []string
	)
	cmd := &cobra.Command{
		Use:   "check (--user NAME | --anonymous) --scope SCOPE [--scope SCOPE ...]",
		Short: "Show what the rules grant and which rules decided it",
		Long: `Show, for each scope, the actions the rules grant to an account (with its
current teams) or to an anonymous client, and the rules that allowed or
denied them: the answer to "why can't I push?". Scopes are written as
clients send them, e.g. repository:dev/app:pull,push.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (user == "") == !anonymous {
				return errors.New("give either --user NAME or --anonymous")
			}
			c, err := loadConfig(configPath, nil)
			if err != nil {
				return err
			}
			parsed, err := acl.ParseScopes(scopes)
			if err != nil {
				return err
			}
			if len(parsed) == 0 {
				return errors.New("give at least one --scope")
			}
			subj, err := checkSubject(cmd.Context(), c, user)
			if err != nil {
				return err
			}
			rules, warnings, err := acl.OpenFile(c.path(c.ACL))
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			printDecisions(cmd.OutOrStdout(), subj, rules.Policy().Decide(subj, parsed))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "config.yaml", "regauth configuration file")
	f.StringVar(&user, "user", "", "account to check")
	f.BoolVar(&anonymous, "anonymous", false, "check a client without credentials")
	f.StringArrayVar(&scopes, "scope", nil, "scope as a client asks it (repeatable)")
	return cmd
}

func checkSubject(ctx context.Context, c *config, user string) (acl.Subject, error) {
	if user == "" {
		return acl.Subject{}, nil
	}
	store, err := openStore(c)
	if err != nil {
		return acl.Subject{}, err
	}
	a, err := store.Lookup(ctx, user)
	if err != nil {
		return acl.Subject{}, fmt.Errorf("account %s: %w", user, err)
	}
	if a.Disabled {
		return acl.Subject{}, fmt.Errorf("account %s is disabled: it gets no token at all", user)
	}
	return acl.Subject{Account: a.Name, Teams: a.Teams}, nil
}

func printDecisions(w io.Writer, subj acl.Subject, decisions []acl.Decision) {
	who := "anonymous"
	if !subj.Anonymous() {
		who = fmt.Sprintf("account %s (teams: %v)", subj.Account, subj.Teams)
	}
	fmt.Fprintln(w, who)
	for _, d := range decisions {
		asked := acl.Decision{Scope: d.Scope, Granted: d.Scope.Actions}.WireActions()
		granted := strings.Join(d.WireActions(), ",")
		if granted == "" {
			granted = "nothing"
		}
		fmt.Fprintf(w, "\n%s:%s:%s\n  asked:   %s\n  granted: %s\n", d.Scope.Type, d.Scope.Name,
			strings.Join(asked, ","), strings.Join(asked, ","), granted)
		if len(d.AllowedBy) == 0 {
			fmt.Fprintln(w, "  no allow rule matches")
		}
		for _, r := range d.AllowedBy {
			fmt.Fprintf(w, "  allowed by the rule at line %d: %s\n", r.Line, ruleActions(r, d.Scope))
		}
		for _, r := range d.DeniedBy {
			fmt.Fprintf(w, "  denied by the rule at line %d: %s\n", r.Line, ruleActions(r, d.Scope))
		}
	}
}

// ruleActions is what a rule says about the scope's resource: a catalog
// rule covers the catalog whole, written "*" as the registry asks it.
func ruleActions(r *acl.Rule, s acl.Scope) string {
	if s.Type == acl.TypeRegistry {
		return "*"
	}
	return r.Actions.String()
}
