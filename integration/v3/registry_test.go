package v3_test

// This file is the one place the registry:3 code is set up; the rest of
// what the tests need is in package harness, shared with registry:2.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"

	"github.com/regauth/regauth/integration/internal/harness"
	"github.com/regauth/regauth/registryconf"

	// The registry authorises with tokens and keeps blobs in memory.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// newRegistry returns the distribution v3 registry, configured from the
// file regauth generates for operators. Only the storage differs: the
// generated file keeps blobs on disk, the tests keep them in memory.
func newRegistry(t *testing.T, realm, certDir string) http.Handler {
	t.Helper()
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	data, err := registryconf.Generate(registryconf.Options{
		Realm:   realm,
		Service: harness.Service,
		Issuer:  harness.Issuer,
		CertDir: certDir,
		DataDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("generate registry config: %v", err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse registry config: %v", err)
	}
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		"delete":   configuration.Parameters{"enabled": true},
	}
	return startRegistry(t, cfg)
}

// startRegistry runs the registry of cfg until the test ends.
func startRegistry(t *testing.T, cfg *configuration.Configuration) http.Handler {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app, err := newApp(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	return app
}

// newApp turns the panic of handlers.NewApp on an unusable configuration
// into an error, so that a broken config fails the test by name.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}
