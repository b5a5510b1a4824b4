package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/registryconf"
)

func newRegistryConfigCommand() *cobra.Command {
	var (
		configPath string
		o          registryconf.Options
		hostPaths  bool
	)
	cmd := &cobra.Command{
		Use:   "registry-config --config FILE",
		Short: "Print the registry configuration that trusts this regauth",
		Long: `Print a configuration for registry:2 and registry:3 that sends clients to
this regauth for tokens and trusts its CA. By default the paths are those of
the docker run line that init prints (PKI mounted at /certs); --host-paths
uses the paths on this machine, for a registry that runs here directly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(configPath, nil)
			if err != nil {
				return err
			}
			o.Realm, o.Service, o.Issuer = c.Realm, c.Service, c.Issuer
			if !cmd.Flags().Changed("addr") {
				o.Addr = c.Registry.Addr
			}
			if hostPaths {
				if cmd.Flags().Changed("cert-dir") || cmd.Flags().Changed("data-dir") {
					return errors.New("--host-paths sets the paths itself: drop --cert-dir and --data-dir")
				}
				o.CertDir, o.DataDir = c.path(c.PKIDir), c.path("registry/data")
			}
			o.Secret = existingSecret(c.path(c.Registry.Config))
			data, err := registryconf.Generate(o)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "config.yaml", "regauth configuration file")
	f.StringVar(&o.Addr, "addr", "", "address the registry listens on (default registry.addr)")
	f.StringVar(&o.CertDir, "cert-dir", registryconf.ContainerCertDir,
		"folder with ca.crt, server.crt and server.key as the registry sees it")
	f.StringVar(&o.DataDir, "data-dir", registryconf.ContainerDataDir, "storage folder as the registry sees it")
	f.BoolVar(&hostPaths, "host-paths", false, "use this machine's paths for certificates and storage")
	f.BoolVar(&o.NoTLS, "no-tls", false, "registry serves plain HTTP behind a TLS-terminating proxy")
	return cmd
}

// existingSecret returns the http.secret of the registry config init wrote,
// so that a regenerated config keeps it: registries behind one balancer
// must share it, and a change invalidates uploads in progress. It returns
// "" when there is no such file, and a new secret is made.
func existingSecret(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	cfg, err := registryconf.Parse(data)
	if err != nil {
		return ""
	}
	return cfg.HTTP.Secret
}
