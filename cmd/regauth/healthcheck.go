package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/pki"
)

func newHealthcheckCommand() *cobra.Command {
	var (
		configPath string
		path       string
	)
	cmd := &cobra.Command{
		Use:   "healthcheck --config FILE",
		Short: "Exit 0 if the local token server is ready, 1 if not",
		Long: `Ask the token server of this configuration, on this machine, for /readyz
(or --path) and exit 0 on 200. It verifies the server's certificate against
the deployment's CA, so it checks TLS as clients do. Made for container
healthchecks, where the image has no shell or HTTP client.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(configPath, nil)
			if err != nil {
				return err
			}
			client, url, err := localClient(c)
			if err != nil {
				return err
			}
			resp, err := client.Get(url + path)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url+path, resp.Status)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "config.yaml", "regauth configuration file")
	cmd.Flags().StringVar(&path, "path", "/readyz", "path to ask: /readyz, or /healthz for liveness")
	return cmd
}

// localClient returns a client for the token server at the configured
// address on loopback, and its base URL. The certificate is checked
// against the CA for the first name it carries: it names the hosts clients
// use, which need not include the loopback address.
func localClient(c *config) (*http.Client, string, error) {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("config: addr %q: %w", c.Addr, err)
	}
	base := "127.0.0.1:" + port
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if c.TLS.InsecureHTTP {
		return client, "http://" + base, nil
	}

	ca, err := pki.LoadCertificates(filepath.Join(c.path(c.PKIDir), pki.CACertFile))
	if err != nil {
		return nil, "", err
	}
	server, err := pki.LoadCertificates(c.path(c.TLS.Cert))
	if err != nil {
		return nil, "", err
	}
	hosts := slices.Concat(server[0].DNSNames, ipStrings(server[0].IPAddresses))
	if len(hosts) == 0 {
		return nil, "", fmt.Errorf("%s names no host", c.path(c.TLS.Cert))
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca[0])
	client.Transport = &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{
		RootCAs: roots, ServerName: hosts[0], MinVersion: tls.VersionTLS12,
	}}
	return client, "https://" + base, nil
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
