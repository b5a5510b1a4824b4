package registryconf

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path"

	"github.com/distribution/distribution/v3/configuration"
	"go.yaml.in/yaml/v2"
)

// Options describe a registry that trusts regauth. Paths are as the
// registry sees them, which inside a container differs from the host.
type Options struct {
	Addr    string // where the registry listens, e.g. ":5000"
	Realm   string // the token endpoint URL the registry advertises
	Service string // the service name tokens are issued for
	Issuer  string // the issuer tokens carry

	CertDir string // folder holding ca.crt, server.crt and server.key
	DataDir string // filesystem storage root
	// Secret signs the registry's upload state; registries behind one
	// load balancer need the same one. Generate makes one when empty.
	Secret string
	// NoTLS makes the registry listen in plain HTTP, for a registry behind
	// a TLS-terminating proxy. The token flow sends passwords to regauth,
	// not to the registry, but image data then travels in clear.
	NoTLS bool
}

// Container paths used by the generated docker run line: the PKI folder is
// mounted read-only at ContainerCertDir.
const (
	ContainerCertDir = "/certs"
	ContainerDataDir = "/var/lib/registry"
)

// The config file paths of the two registry images.
const (
	V2ConfigPath = "/etc/docker/registry/config.yml"
	V3ConfigPath = "/etc/distribution/config.yml"
)

// file is the subset of the registry configuration that regauth writes.
type file struct {
	Version string `yaml:"version"`
	Log     struct {
		Fields map[string]string `yaml:"fields"`
	} `yaml:"log"`
	Storage struct {
		Filesystem struct {
			RootDirectory string `yaml:"rootdirectory"`
		} `yaml:"filesystem"`
		Delete struct {
			Enabled bool `yaml:"enabled"`
		} `yaml:"delete"`
	} `yaml:"storage"`
	HTTP struct {
		Addr    string              `yaml:"addr"`
		Secret  string              `yaml:"secret"`
		TLS     *tlsConfig          `yaml:"tls,omitempty"`
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"http"`
	Auth struct {
		Token tokenConfig `yaml:"token"`
	} `yaml:"auth"`
}

type tlsConfig struct {
	Certificate string `yaml:"certificate"`
	Key         string `yaml:"key"`
}

type tokenConfig struct {
	Realm          string `yaml:"realm"`
	Service        string `yaml:"service"`
	Issuer         string `yaml:"issuer"`
	RootCertBundle string `yaml:"rootcertbundle"`
}

const header = `# Registry configuration written by regauth for registry:2 and registry:3.
# Rather than edit it, regenerate it after a change of hosts or ports:
#   regauth registry-config --config config.yaml > registry/config.yml
`

// Generate returns the registry configuration for o, checked by the
// registry's own parser.
func Generate(o Options) ([]byte, error) {
	if o.Realm == "" || o.Service == "" || o.Issuer == "" || o.CertDir == "" {
		return nil, errors.New("registry config needs realm, service, issuer and cert dir")
	}
	if o.Secret == "" {
		o.Secret = rand.Text()
	}

	var f file
	f.Version = "0.1"
	f.Log.Fields = map[string]string{"service": "registry"}
	f.Storage.Filesystem.RootDirectory = o.DataDir
	f.Storage.Delete.Enabled = true
	f.HTTP.Addr = o.Addr
	f.HTTP.Secret = o.Secret
	f.HTTP.Headers = map[string][]string{"X-Content-Type-Options": {"nosniff"}}
	if !o.NoTLS {
		f.HTTP.TLS = &tlsConfig{
			Certificate: path.Join(o.CertDir, "server.crt"),
			Key:         path.Join(o.CertDir, "server.key"),
		}
	}
	f.Auth.Token = tokenConfig{
		Realm:          o.Realm,
		Service:        o.Service,
		Issuer:         o.Issuer,
		RootCertBundle: path.Join(o.CertDir, "ca.crt"),
	}

	body, err := yaml.Marshal(&f)
	if err != nil {
		return nil, fmt.Errorf("encode registry config: %w", err)
	}
	data := append([]byte(header), body...)
	if _, err := Parse(data); err != nil {
		return nil, err
	}
	return data, nil
}

// Parse decodes a registry configuration with the registry's own types and
// YAML decoder, strictly, and checks what a token-authenticated registry
// needs. Unlike distribution's configuration.Parse it applies no REGISTRY_*
// environment overrides: what regauth writes must not depend on the
// environment of whoever runs it (skopeo's REGISTRY_AUTH_FILE, for one,
// would read as an auth section).
func Parse(data []byte) (*configuration.Configuration, error) {
	var cfg configuration.Configuration
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	switch {
	case cfg.Version != "0.1":
		return nil, fmt.Errorf("registry config: version %q, want 0.1", cfg.Version)
	case cfg.Storage.Type() == "":
		return nil, errors.New("registry config: no storage")
	case cfg.Auth.Type() != "token":
		return nil, errors.New("registry config: auth is not token")
	}
	for _, key := range []string{"realm", "service", "issuer", "rootcertbundle"} {
		if v, _ := cfg.Auth["token"][key].(string); v == "" {
			return nil, fmt.Errorf("registry config: auth.token.%s is empty", key)
		}
	}
	return &cfg, nil
}
