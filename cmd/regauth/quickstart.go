package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/registryconf"
	"github.com/regauth/regauth/registryconf/embedded"
	"github.com/regauth/regauth/users"
)

func newQuickstartCommand() *cobra.Command {
	var (
		dir   string
		addr  string
		hosts []string
	)
	cmd := &cobra.Command{
		Use:   "quickstart [--dir DIR] [--addr HOST:PORT]",
		Short: "Run a registry with regauth in front, all in one process",
		Long: `Create a deployment in DIR if it is empty (CA, certificates, rules and an
admin account whose password is printed once and kept in DIR/admin-password),
then serve the token endpoint and an embedded registry on one HTTPS address.
A later run reuses DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(hosts) == 0 {
				hosts = machineHosts()
			}
			return runQuickstart(cmd, dir, addr, hosts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "regauth-data", "folder holding the deployment")
	f.StringVar(&addr, "addr", ":5000", "address to serve the registry and the token endpoint on")
	f.StringSliceVar(&hosts, "host", nil,
		"name or IP clients use, for the certificate (default: this machine's names and addresses)")
	return cmd
}

func runQuickstart(cmd *cobra.Command, dir, addr string, hosts []string) error {
	configPath := filepath.Join(dir, "config.yaml")
	if _, err := os.Stat(configPath); errors.Is(err, fs.ErrNotExist) {
		if err := createQuickstart(cmd.Context(), cmd.OutOrStdout(), dir, addr, hosts); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "Using the deployment in %s; the admin password is in %s\n",
			dir, filepath.Join(dir, "admin-password"))
	}

	c, err := loadConfig(configPath, nil)
	if err != nil {
		return err
	}
	c.Addr = addr
	log, err := c.logger()
	if err != nil {
		return err
	}
	a, err := newApp(cmd.Context(), c, log)
	if err != nil {
		return err
	}

	regConfig, err := registryconf.Generate(registryconf.Options{
		Addr:    addr,
		Realm:   c.Realm,
		Service: c.Service,
		Issuer:  c.Issuer,
		CertDir: c.path(c.PKIDir),
		DataDir: c.path("registry/data"),
	})
	if err != nil {
		return err
	}
	registry, err := embedded.New(cmd.Context(), regConfig)
	if err != nil {
		return err
	}
	defer registry.Shutdown()

	a.mux.Handle("/", embedded.WithRequestRealm(registry, "/token"))
	return listenAndServe(cmd.Context(), c, a.mux, a.tlsCert, log)
}

// createQuickstart runs init for an all-in-one deployment and adds the
// admin account.
func createQuickstart(ctx context.Context, out io.Writer, dir, addr string, hosts []string) error {
	o := initOptions{
		dir: dir, hosts: hosts, registryAddr: addr, tokenAddr: addr,
		service: "registry", issuer: "regauth", keyType: "ecdsa-p256",
	}
	if err := runInit(o); err != nil {
		return err
	}

	password := rand.Text()
	acct, err := users.NewAccount("admin", password, nil, users.DefaultCost, time.Now())
	if err != nil {
		return err
	}
	store, err := users.OpenFile(filepath.Join(dir, "users.yaml"))
	if err != nil {
		return err
	}
	if err := store.Add(ctx, acct); err != nil {
		return err
	}
	pwFile := filepath.Join(dir, "admin-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}

	_, port, _ := net.SplitHostPort(addr)
	fmt.Fprintf(out, `Created a deployment in %s for %v.
Account "admin", password (shown once, kept in %s):

    %s

Trust the CA on a docker host, then log in:
    sudo mkdir -p /etc/docker/certs.d/HOST:%s
    sudo cp %s /etc/docker/certs.d/HOST:%s/ca.crt
    docker login HOST:%s -u admin
`, dir, hosts, pwFile, password, port, filepath.Join(dir, "pki", "ca.crt"), port, port)
	return nil
}

// machineHosts returns the names and addresses this machine answers on:
// localhost, the loopback addresses, the host name and every address of
// every interface that is up.
func machineHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if name, err := os.Hostname(); err == nil && name != "" && name != "localhost" {
		hosts = append(hosts, name)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		slog.Warn("list network interfaces", "err", err)
		return hosts
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok || ipnet.IP.IsLoopback() || ipnet.IP.IsLinkLocalUnicast() {
				continue
			}
			hosts = append(hosts, ipnet.IP.String())
		}
	}
	return hosts
}
