package v2_test

// This file is the one place the registry:2 code is set up; the rest of
// the harness is shared with the registry:3 tests.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/distribution/configuration"
	"github.com/docker/distribution/registry/handlers"

	"github.com/regauth/regauth/pki"

	// The registry authorises with tokens and keeps blobs in memory.
	_ "github.com/docker/distribution/registry/auth/token"
	_ "github.com/docker/distribution/registry/storage/driver/inmemory"
)

// registryConfig is the registry configuration, with the auth.token keys
// that registryconf.Generate writes.
//
// NOTE(integration): this cannot be registryconf.Generate's output, as in
// the registry:3 tests, because importing registryconf links the embedded
// registry:3 code, and its init registers /debug/health on the default mux
// exactly as registry:2's does: the test binary would panic before it runs.
const registryConfig = `
version: 0.1
storage:
  inmemory: {}
  delete:
    enabled: true
http:
  secret: %q
auth:
  token:
    realm: %q
    service: %q
    issuer: %q
    rootcertbundle: %q
`

// newRegistry returns the docker/distribution v2.8 registry trusting the CA
// in certDir for tokens from realm.
func newRegistry(t *testing.T, realm, certDir string) http.Handler {
	t.Helper()
	data := fmt.Sprintf(registryConfig, rand.Text(), realm, service, issuer,
		filepath.Join(certDir, pki.CACertFile))
	cfg, err := configuration.Parse(strings.NewReader(data))
	if err != nil {
		t.Fatalf("parse registry config: %v", err)
	}

	// NOTE(integration): the v2 App has no Shutdown; cancelling its context
	// is all the cleanup it offers.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app, err := newApp(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
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
