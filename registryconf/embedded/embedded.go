// Package embedded runs a distribution registry (the code of registry:3)
// inside the regauth process, for the all-in-one quickstart. It is apart
// from registryconf because the registry's handlers register global HTTP
// routes and metrics at start-up: a program that only writes or checks
// registry configuration, or runs registry:2 code beside it, must not pull
// them in.
package embedded

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"

	"github.com/regauth/regauth/registryconf"

	// The embedded registry authorises with tokens and stores blobs on the
	// filesystem; in-memory storage serves tests.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Registry is a distribution registry running inside this process.
type Registry struct {
	app *handlers.App
}

// New starts a registry from the configuration data, which may use the
// filesystem or inmemory storage driver. The registry's own HTTP server
// settings (addr, tls) are ignored: the caller serves the handler.
func New(ctx context.Context, data []byte) (e *Registry, err error) {
	cfg, err := registryconf.Parse(data)
	if err != nil {
		return nil, err
	}
	applyDefaults(cfg)
	// handlers.NewApp panics instead of returning an error when the auth
	// or storage configuration is unusable, such as a missing CA file.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start embedded registry: %v", p)
		}
	}()
	return &Registry{app: handlers.NewApp(ctx, cfg)}, nil
}

// ServeHTTP serves the registry API.
func (e *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.app.ServeHTTP(w, r)
}

// Shutdown stops the registry's background work.
func (e *Registry) Shutdown() error { return e.app.Shutdown() }

var realmParam = regexp.MustCompile(`realm="[^"]*"`)

// WithRequestRealm wraps a registry handler so that the realm in its
// Bearer challenges points at tokenPath on the host the client used. The
// all-in-one server answers on every address of the machine; a realm fixed
// in the configuration would send some clients to an address they cannot
// reach.
func WithRequestRealm(h http.Handler, tokenPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realm := fmt.Sprintf(`realm="https://%s%s"`, r.Host, tokenPath)
		h.ServeHTTP(&challengeWriter{ResponseWriter: w, realm: realm}, r)
	})
}

// challengeWriter rewrites the realm of a WWW-Authenticate header as the
// response header is written.
type challengeWriter struct {
	http.ResponseWriter
	realm string
}

func (cw *challengeWriter) WriteHeader(status int) {
	if c := cw.Header().Get("WWW-Authenticate"); c != "" {
		cw.Header().Set("WWW-Authenticate", realmParam.ReplaceAllLiteralString(c, cw.realm))
	}
	cw.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (cw *challengeWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// applyDefaults fills in what the registry's own configuration parser
// would, since registryconf.Parse leaves the REGISTRY_* environment and so
// that parser out: without a page size the catalog and tag lists would be
// empty.
func applyDefaults(cfg *configuration.Configuration) {
	if cfg.Log.Level == "" {
		cfg.Log.Level = "info"
	}
	if cfg.Catalog.MaxEntries <= 0 {
		cfg.Catalog.MaxEntries = 1000
	}
	if cfg.Tags.MaxTags <= 0 {
		cfg.Tags.MaxTags = 1000
	}
}
