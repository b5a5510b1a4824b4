package main

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/tokenserver"
)

func newPKICommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Rotate the signing key, renew the server certificate, print the JWKS",
	}
	cmd.PersistentFlags().String("config", "config.yaml", "regauth configuration file")
	cmd.AddCommand(newPKIRotateCommand(), newPKIRenewCommand(), newPKIJWKSCommand())
	return cmd
}

// caCommand loads the configuration named by the command's --config and
// the CA it names; only rotation and renewal need the CA's key.
func caCommand(cmd *cobra.Command) (*config, *pki.CA, error) {
	c, err := loadConfig(mustString(cmd, "config"), nil)
	if err != nil {
		return nil, nil, err
	}
	dir := c.path(c.PKIDir)
	ca, err := pki.LoadCA(filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile))
	return c, ca, err
}

func newPKIRotateCommand() *cobra.Command {
	var keyType string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Issue a new token signing key; running token servers switch to it",
		Long: `Issue a new token signing key and certificate from the CA and write them
where the configuration points. Running token servers notice and sign with
the new key from their next token on. Registries need no change: they trust
the CA, so tokens signed by the old key stay valid until they expire and
tokens signed by the new one are valid at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ca, err := caCommand(cmd)
			if err != nil {
				return err
			}
			now := time.Now()
			key, err := pki.GenerateKey(pki.KeyType(keyType))
			if err != nil {
				return err
			}
			cert, err := ca.IssueSigning("regauth token signer", key.Public(), now, pki.SigningValidity)
			if err != nil {
				return err
			}
			if err := pki.WritePair(c.path(c.Signing.Cert), c.path(c.Signing.Key), key, cert); err != nil {
				return err
			}
			signer, err := tokenserver.NewSigner(&pki.KeyPair{Chain: []*x509.Certificate{cert}, Key: key})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s (%s), valid until %s\n",
				signer.KeyID(), signer.Algorithm(), cert.NotAfter.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyType, "key-type", string(pki.ECDSAP256),
		fmt.Sprintf("signing key type, one of %v", pki.KeyTypes))
	return cmd
}

func newPKIRenewCommand() *cobra.Command {
	var hosts []string
	cmd := &cobra.Command{
		Use:   "renew [--host HOST ...]",
		Short: "Issue a new TLS server certificate from the CA",
		Long: `Issue a new TLS server certificate and key for the hosts of the current
certificate (or those given) and write them where the configuration points.
The token server serves the new one without a restart; a registry reads its
certificate at start and must be restarted to serve it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ca, err := caCommand(cmd)
			if err != nil {
				return err
			}
			if len(hosts) == 0 {
				if hosts, err = currentHosts(c.path(c.TLS.Cert)); err != nil {
					return err
				}
			}
			key, err := pki.GenerateKey(pki.ECDSAP256)
			if err != nil {
				return err
			}
			cert, err := ca.IssueServer(hosts, key.Public(), time.Now(), pki.ServerValidity)
			if err != nil {
				return err
			}
			if err := pki.WritePair(c.path(c.TLS.Cert), c.path(c.TLS.Key), key, cert, ca.Cert); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new server certificate for %v, valid until %s\n",
				hosts, cert.NotAfter.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&hosts, "host", nil, "hosts to name (default: those of the current certificate)")
	return cmd
}

// currentHosts returns the subjectAltNames of the certificate at path.
func currentHosts(path string) ([]string, error) {
	certs, err := pki.LoadCertificates(path)
	if err != nil {
		return nil, err
	}
	hosts := append([]string{}, certs[0].DNSNames...)
	for _, ip := range certs[0].IPAddresses {
		hosts = append(hosts, ip.String())
	}
	return hosts, nil
}

func newPKIJWKSCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "jwks",
		Short: "Print the JWKS of the signing key, for registry:3's jwks option",
		Long: `Print the JSON Web Key Set of the current signing key, with its kid and
certificate chain. Registries are best configured to trust the CA
(rootcertbundle): tokens carry their certificate in x5c, and the signing key
can then change without touching them. A registry:3 configured with this
JWKS and no CA needs signing.x5c: false in regauth's config, since it
refuses tokens with x5c, and needs the new set after every "pki rotate":
the set names only the current key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(mustString(cmd, "config"), nil)
			if err != nil {
				return err
			}
			signer, err := loadSigner(c)
			if err != nil {
				return err
			}
			data, err := signer.JWKS()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", data)
			return err
		},
	}
}
