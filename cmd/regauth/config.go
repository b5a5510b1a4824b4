package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// config is regauth's own configuration, read from a file, then REGAUTH_*
// environment variables, then flags. Every key is documented in
// config.example.yaml. Relative paths are relative to the config file.
type config struct {
	Service    string        `mapstructure:"service"`
	Issuer     string        `mapstructure:"issuer"`
	Realm      string        `mapstructure:"realm"`
	Addr       string        `mapstructure:"addr"`
	TokenTTL   time.Duration `mapstructure:"token_ttl"`
	BcryptCost int           `mapstructure:"bcrypt_cost"`
	Store      string        `mapstructure:"store"`
	// PasswordCache bounds the memory of successful password checks.
	PasswordCache struct {
		Size int           `mapstructure:"size"`
		TTL  time.Duration `mapstructure:"ttl"`
	} `mapstructure:"password_cache"`
	Users      string        `mapstructure:"users"`
	Tokens     string        `mapstructure:"tokens"`
	RefreshTTL time.Duration `mapstructure:"refresh_ttl"`
	ACL        string        `mapstructure:"acl"`
	PKIDir     string        `mapstructure:"pki_dir"`
	// TrustedProxies are CIDRs whose X-Forwarded-For names the client.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	TLS            struct {
		Cert         string `mapstructure:"cert"`
		Key          string `mapstructure:"key"`
		InsecureHTTP bool   `mapstructure:"insecure_http"`
	} `mapstructure:"tls"`
	Signing struct {
		Cert string `mapstructure:"cert"`
		Key  string `mapstructure:"key"`
		// X5C puts the certificate chain in every token; see
		// tokenserver.WithoutChain for when not to.
		X5C bool `mapstructure:"x5c"`
	} `mapstructure:"signing"`
	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`
	Registry struct {
		Addr   string   `mapstructure:"addr"`
		Hosts  []string `mapstructure:"hosts"`
		Config string   `mapstructure:"config"`
	} `mapstructure:"registry"`

	// dir is the folder of the config file, for relative paths.
	dir string
}

var configDefaults = map[string]any{
	"service":             "registry",
	"issuer":              "regauth",
	"realm":               "",
	"addr":                ":5001",
	"token_ttl":           "5m",
	"bcrypt_cost":         10,
	"password_cache.size": 10000,
	"password_cache.ttl":  "5m",
	"store":               "file",
	"users":               "users.yaml",
	"tokens":              "tokens.yaml",
	"refresh_ttl":         "2160h",
	"acl":                 "acl.yaml",
	"pki_dir":             "pki",
	"trusted_proxies":     []string{},
	"tls.cert":            "pki/server.crt",
	"tls.key":             "pki/server.key",
	"tls.insecure_http":   false,
	"signing.cert":        "pki/token.crt",
	"signing.key":         "pki/token.key",
	"signing.x5c":         true,
	"log.level":           "info",
	"log.format":          "text",
	"registry.addr":       ":5000",
	"registry.hosts":      []string{},
	"registry.config":     "registry/config.yml",
}

// loadConfig reads the config file at path. flags, if not nil, override
// the keys of the same name (with "-" for "_" and "."), when set.
func loadConfig(path string, flags *pflag.FlagSet) (*config, error) {
	v := viper.New()
	for k, val := range configDefaults {
		v.SetDefault(k, val)
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	v.SetEnvPrefix("REGAUTH")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if flags != nil {
		if err := bindFlags(v, flags); err != nil {
			return nil, err
		}
	}

	var c config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.dir = filepath.Dir(abs)
	return &c, c.validate()
}

// flagKeys maps the flags that override configuration keys to those keys.
var flagKeys = map[string]string{
	"addr":          "addr",
	"insecure-http": "tls.insecure_http",
}

// bindFlags lets a flag such as --addr override its configuration key.
// A flag the user did not set leaves the file's value alone.
func bindFlags(v *viper.Viper, flags *pflag.FlagSet) error {
	for name, key := range flagKeys {
		if f := flags.Lookup(name); f != nil && f.Changed {
			if err := v.BindPFlag(key, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.Service == "":
		return fmt.Errorf("config: service is empty")
	case c.Issuer == "":
		return fmt.Errorf("config: issuer is empty")
	case c.BcryptCost < 4 || c.BcryptCost > 31:
		return fmt.Errorf("config: bcrypt_cost %d is outside 4..31", c.BcryptCost)
	}
	return nil
}

// path resolves p against the config file's folder.
func (c *config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *config) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return nil, fmt.Errorf("config: log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Log.Format {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("config: log.format %q: want text or json", c.Log.Format)
}
