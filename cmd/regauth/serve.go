package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/throttle"
	"github.com/regauth/regauth/tokenserver"
	"github.com/regauth/regauth/users"
)

func newServeCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the token server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(configPath, cmd.Flags())
			if err != nil {
				return err
			}
			log, err := c.logger()
			if err != nil {
				return err
			}
			ts, err := newTokenServer(cmd.Context(), c, log)
			if err != nil {
				return err
			}
			mux := http.NewServeMux()
			mux.Handle("/token", ts)
			return listenAndServe(cmd.Context(), c, mux, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "config.yaml", "regauth configuration file")
	f.String("addr", "", "address to listen on (overrides addr in the config)")
	f.Bool("insecure-http", false,
		"serve plain HTTP: Basic credentials then travel in clear; only behind a TLS proxy")
	return cmd
}

// newTokenServer wires the token server from the configuration. The users
// file and the rules file are watched until ctx ends, so that changes take
// effect without a restart.
func newTokenServer(ctx context.Context, c *config, log *slog.Logger) (*tokenserver.Server, error) {
	kp, err := pki.LoadKeyPair(c.path(c.Signing.Cert), c.path(c.Signing.Key))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	signer, err := tokenserver.NewSigner(kp)
	if err != nil {
		return nil, err
	}

	b, err := openBackend(c)
	if err != nil {
		return nil, err
	}
	for path, reload := range b.files {
		if err := watchFile(ctx, log, "accounts", path, reload); err != nil {
			return nil, err
		}
	}
	auth, err := users.NewAuthenticator(b.users, c.BcryptCost)
	if err != nil {
		return nil, err
	}

	rules, err := openRules(ctx, c.path(c.ACL), log)
	if err != nil {
		return nil, err
	}

	log.Info("token server ready", "service", c.Service, "issuer", c.Issuer,
		"algorithm", signer.Algorithm(), "signing_cert", pki.Fingerprint(kp.Leaf()))
	return tokenserver.New(tokenserver.Config{
		Service:  c.Service,
		Issuer:   c.Issuer,
		TokenTTL: c.TokenTTL,
		Logger:   log,
		Limiter:  throttle.New(throttle.DefaultPolicy, b.failures),
		Refresher: &users.Refresher{
			Accounts: b.users,
			Tokens:   b.tokens,
			TTL:      c.RefreshTTL,
		},
	}, signer, auth, rules.Policy), nil
}

// openRules loads the rules file and watches it.
func openRules(ctx context.Context, path string, log *slog.Logger) (*acl.File, error) {
	rules, warnings, err := acl.OpenFile(path)
	if err != nil {
		return nil, err
	}
	logWarnings(log, path, warnings)
	reload := func() error {
		warnings, err := rules.Reload()
		logWarnings(log, path, warnings)
		return err
	}
	return rules, watchFile(ctx, log, "rules", path, reload)
}

func logWarnings(log *slog.Logger, path string, warnings []string) {
	for _, w := range warnings {
		log.Warn("rules", "file", path, "warning", w)
	}
}

// listenAndServe serves h on the configured address until ctx ends, then
// lets requests in flight finish.
func listenAndServe(ctx context.Context, c *config, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Addr:              c.Addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() {
		if c.TLS.InsecureHTTP {
			log.Warn("serving plain HTTP: passwords travel in clear unless a TLS proxy is in front",
				"addr", ln.Addr().String())
			errc <- srv.Serve(ln)
			return
		}
		log.Info("serving HTTPS", "addr", ln.Addr().String())
		errc <- srv.ServeTLS(ln, c.path(c.TLS.Cert), c.path(c.TLS.Key))
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
