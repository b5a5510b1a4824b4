package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConfig(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		content string
		env     map[string]string
		check   func(t *testing.T, c *config)
		wantErr string
	}{
		{
			name:    "empty file takes the defaults",
			content: "",
			check: func(t *testing.T, c *config) {
				if c.Service != "registry" || c.Addr != ":5001" || c.TokenTTL != 5*time.Minute {
					t.Errorf("defaults: service %q addr %q ttl %v", c.Service, c.Addr, c.TokenTTL)
				}
				if c.path(c.Users) != filepath.Join(c.dir, "users.yaml") {
					t.Errorf("users path %q is not beside the config", c.path(c.Users))
				}
			},
		},
		{
			name:    "environment overrides the file",
			content: "token_ttl: 10m\nstore: \"\"\n",
			env:     map[string]string{"REGAUTH_TOKEN_TTL": "2m", "REGAUTH_STORE": "redis://127.0.0.1:6379/0"},
			check: func(t *testing.T, c *config) {
				if c.TokenTTL != 2*time.Minute || c.Store != "redis://127.0.0.1:6379/0" {
					t.Errorf("env not applied: ttl %v store %q", c.TokenTTL, c.Store)
				}
			},
		},
		{
			name:    "nested keys from the environment",
			content: "tls:\n  insecure_http: false\n",
			env:     map[string]string{"REGAUTH_TLS_INSECURE_HTTP": "true"},
			check: func(t *testing.T, c *config) {
				if !c.TLS.InsecureHTTP {
					t.Error("REGAUTH_TLS_INSECURE_HTTP not applied")
				}
			},
		},
		{
			name:    "absolute paths stay",
			content: "users: /srv/users.yaml\n",
			check: func(t *testing.T, c *config) {
				if c.path(c.Users) != "/srv/users.yaml" {
					t.Errorf("path %q", c.path(c.Users))
				}
			},
		},
		{name: "unknown key", content: "sevrice: registry\n", wantErr: "sevrice"},
		{name: "empty service", content: "service: \"\"\n", wantErr: "service is empty"},
		{name: "bad bcrypt cost", content: "bcrypt_cost: 40\n", wantErr: "bcrypt_cost"},
		{name: "not YAML", content: "service: [unclosed\n", wantErr: "read config"},
		{name: "bad duration", content: "token_ttl: soon\n", wantErr: "token_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := loadConfig(writeConfig(t, tt.content), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// TestExampleConfigIsComplete loads config.example.yaml strictly: every key
// it documents exists, and every key regauth reads is documented in it.
func TestExampleConfigIsComplete(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	if _, err := loadConfig(path, nil); err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for key := range configDefaults {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(data), "\n"+leaf+":") && !strings.Contains(string(data), " "+leaf+":") {
			t.Errorf("config.example.yaml does not document %q", key)
		}
	}
}

// FuzzLoadConfig feeds arbitrary files to the configuration loader: it
// returns a config or an error, and never panics.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"", "service: x\n", "token_ttl: 1h\nbcrypt_cost: 12\n", "tls: {cert: a, key: b}\n",
		"registry:\n  hosts: [a, b]\n", "trusted_proxies: [10.0.0.0/8]\n", "users: [1, 2]\n",
		"password_cache: {size: -1, ttl: 0}\n", "\x00\xff", "log: {level: loud}\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "config.yaml")
	f.Fuzz(func(t *testing.T, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(path, nil)
		if err == nil && c.Service == "" {
			t.Fatal("a config without service was accepted")
		}
	})
}

// TestEveryKeyHasADefault walks the config struct: a key without a default
// is invisible to viper's environment lookup, so REGAUTH_<KEY> would be
// silently ignored for it.
func TestEveryKeyHasADefault(t *testing.T) {
	for _, key := range structKeys(reflect.TypeFor[config](), "") {
		if _, ok := configDefaults[key]; !ok {
			t.Errorf("config key %q has no default", key)
		}
	}
}

func structKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for f := range typ.Fields() {
		tag := f.Tag.Get("mapstructure")
		if tag == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
			keys = append(keys, structKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}
