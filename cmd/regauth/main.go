// Command regauth is a token server for private container registries: it
// creates the PKI and the registry configuration, manages users, and
// issues the tokens the registry asks clients for.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "regauth:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "regauth",
		Short:         "Token authentication for a private container registry",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newInitCommand(),
		newServeCommand(),
		newQuickstartCommand(),
		newUserCommand(),
		newRegistryConfigCommand(),
		newTeamCommand(),
		newACLCommand(),
		newTokenCommand(),
		newRobotCommand(),
		newPKICommand(),
		newHealthcheckCommand(),
	)
	return root
}
