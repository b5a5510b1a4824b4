package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
		Long: `Run the token server: /token (GET and POST), /healthz, /readyz, /metrics
and /jwks.json. Users, rules, the signing key and the TLS certificate are
watched and reloaded when their files change; nothing needs a restart.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(configPath, cmd.Flags())
			if err != nil {
				return err
			}
			log, err := c.logger()
			if err != nil {
				return err
			}
			app, err := newApp(cmd.Context(), c, log)
			if err != nil {
				return err
			}
			return listenAndServe(cmd.Context(), c, app.mux, app.tlsCert, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "config.yaml", "regauth configuration file")
	f.String("addr", "", "address to listen on (overrides addr in the config)")
	f.Bool("insecure-http", false,
		"serve plain HTTP: Basic credentials then travel in clear; only behind a TLS proxy")
	return cmd
}

// app is a wired token server with its routes.
type app struct {
	ts      *tokenserver.Server
	mux     *http.ServeMux
	metrics *tokenserver.Metrics
	tlsCert *reloadingCert
	// expiryChecks holds, by certificate name, a func that warns if the
	// certificate in use expires soon.
	expiryChecks sync.Map
}

// gcPercent is the garbage collector target of a serving process unless
// GOGC says otherwise. The token server's live heap is small, so Go's
// default of 100 collects every hundred or so requests; 400 buys about 15%
// more tokens per core for a few more megabytes (docs/performance.md).
const gcPercent = 400

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

// newApp wires the token server from the configuration. Every file it
// depends on is watched until ctx ends, so that changes take effect
// without a restart.
func newApp(ctx context.Context, c *config, log *slog.Logger) (*app, error) {
	tuneGC()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := tokenserver.NewMetrics(reg)
	w := &watcher{ctx: ctx, log: log, metrics: metrics}

	signer, err := loadSigner(c)
	if err != nil {
		return nil, err
	}

	b, err := openBackend(c)
	if err != nil {
		return nil, err
	}
	for _, f := range b.files {
		if err := w.watch(f.what, f.path, f.reload); err != nil {
			return nil, err
		}
	}
	auth, err := users.NewAuthenticator(b.users, c.BcryptCost)
	if err != nil {
		return nil, err
	}
	auth.EnableCache(c.PasswordCache.Size, c.PasswordCache.TTL)

	rules, err := openRules(w, c.path(c.ACL))
	if err != nil {
		return nil, err
	}
	proxies, err := parsePrefixes(c.TrustedProxies)
	if err != nil {
		return nil, err
	}

	ts := tokenserver.New(tokenserver.Config{
		Service:        c.Service,
		Issuer:         c.Issuer,
		TokenTTL:       c.TokenTTL,
		Logger:         log,
		Limiter:        throttle.New(throttle.DefaultPolicy, b.failures),
		Refresher:      &users.Refresher{Accounts: b.users, Tokens: b.tokens, TTL: c.RefreshTTL},
		Metrics:        metrics,
		TrustedProxies: proxies,
		Ping:           b.ping,
	}, signer, auth, rules.Policy)

	a := &app{ts: ts, metrics: metrics}
	if err := a.watchSigner(w, c); err != nil {
		return nil, err
	}
	if !c.TLS.InsecureHTTP {
		onLoad := func(leaf *x509.Certificate) { a.trackExpiry(log, "tls", leaf.NotAfter) }
		if a.tlsCert, err = newReloadingCert(w, c.path(c.TLS.Cert), c.path(c.TLS.Key), onLoad); err != nil {
			return nil, err
		}
	}
	go a.warnDaily(ctx)

	a.mux = http.NewServeMux()
	a.mux.Handle("/token", ts)
	a.mux.HandleFunc("GET /healthz", ts.Healthz)
	a.mux.HandleFunc("GET /readyz", ts.Readyz)
	a.mux.HandleFunc("GET /jwks.json", ts.ServeJWKS)
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	log.Info("token server ready", "service", c.Service, "issuer", c.Issuer,
		"algorithm", signer.Algorithm(), "kid", signer.KeyID())
	return a, nil
}

func loadSigner(c *config) (*tokenserver.Signer, error) {
	kp, err := pki.LoadKeyPair(c.path(c.Signing.Cert), c.path(c.Signing.Key))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	var opts []tokenserver.SignerOption
	if !c.Signing.X5C {
		opts = append(opts, tokenserver.WithoutChain())
	}
	return tokenserver.NewSigner(kp, opts...)
}

// watchSigner switches to a new signing key when "pki rotate" replaces
// it. Tokens signed by the old key stay valid at the registry until they
// expire, because the registry trusts the CA that issued both.
func (a *app) watchSigner(w *watcher, c *config) error {
	reload := func() error {
		signer, err := loadSigner(c)
		if err != nil {
			return err
		}
		a.ts.SetSigner(signer)
		a.trackExpiry(w.log, "signing", signer.KeyPair().Leaf().NotAfter)
		w.log.Info("signing key in use", "kid", signer.KeyID(), "algorithm", signer.Algorithm())
		return nil
	}
	if err := reload(); err != nil {
		return err
	}
	// The key is written before the certificate; watching the certificate
	// reloads once both are in place.
	return w.watch("signing key", c.path(c.Signing.Cert), reload)
}

// renewWarning is how long before expiry a certificate is warned about.
const renewWarning = 30 * 24 * time.Hour

// trackExpiry records a certificate's expiry for the metrics and warns now
// and then daily while it is within renewWarning of it.
func (a *app) trackExpiry(log *slog.Logger, name string, notAfter time.Time) {
	a.metrics.SetCertificateExpiry(name, notAfter)
	warn := func() {
		if time.Until(notAfter) < renewWarning {
			log.Warn("certificate expires soon; renew it with regauth pki renew or rotate",
				"certificate", name, "not_after", notAfter.UTC().Format(time.RFC3339))
		}
	}
	warn()
	a.expiryChecks.Store(name, warn)
}

// warnDaily runs the expiry warnings once a day until ctx ends.
func (a *app) warnDaily(ctx context.Context) {
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.expiryChecks.Range(func(_, warn any) bool {
				warn.(func())()
				return true
			})
		}
	}
}

// openRules loads the rules file and watches it.
func openRules(w *watcher, path string) (*acl.File, error) {
	rules, warnings, err := acl.OpenFile(path)
	if err != nil {
		return nil, err
	}
	logWarnings(w.log, path, warnings)
	reload := func() error {
		warnings, err := rules.Reload()
		logWarnings(w.log, path, warnings)
		return err
	}
	return rules, w.watch("rules", path, reload)
}

func logWarnings(log *slog.Logger, path string, warnings []string) {
	for _, w := range warnings {
		log.Warn("rules", "file", path, "warning", w)
	}
}

func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("config: trusted_proxies: %w", err)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// reloadingCert is the TLS certificate of the server, replaced when its
// files change, so that a renewed certificate is served without a restart.
type reloadingCert struct {
	cert atomic.Pointer[tls.Certificate]
}

func newReloadingCert(w *watcher, certPath, keyPath string, onLoad func(*x509.Certificate)) (*reloadingCert, error) {
	rc := &reloadingCert{}
	reload := func() error {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return err
		}
		rc.cert.Store(&cert)
		onLoad(cert.Leaf)
		return nil
	}
	if err := reload(); err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	return rc, w.watch("tls certificate", certPath, reload)
}

func (rc *reloadingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return rc.cert.Load(), nil
}

// listenAndServe serves h on the configured address until ctx ends, then
// lets requests in flight finish. cert is nil for plain HTTP.
func listenAndServe(ctx context.Context, c *config, h http.Handler, cert *reloadingCert, log *slog.Logger) error {
	srv := &http.Server{
		Addr:              c.Addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() {
		if cert == nil {
			log.Warn("serving plain HTTP: passwords travel in clear unless a TLS proxy is in front",
				"addr", ln.Addr().String())
			errc <- srv.Serve(ln)
			return
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.get}
		log.Info("serving HTTPS", "addr", ln.Addr().String())
		errc <- srv.ServeTLS(ln, "", "")
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; requests in flight may finish")
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
