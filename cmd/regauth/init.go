package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/regauth/regauth/pki"
	"github.com/regauth/regauth/registryconf"
)

type initOptions struct {
	dir          string
	hosts        []string
	registryAddr string
	tokenAddr    string
	realm        string
	service      string
	issuer       string
	keyType      string
	force        bool
}

func newInitCommand() *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init --dir DIR --host HOST [--host HOST ...]",
		Short: "Create the CA, certificates, configuration and registry config of a deployment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := runInit(o); err != nil {
				return err
			}
			return printNextSteps(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "folder to create the deployment in")
	f.StringSliceVar(&o.hosts, "host", nil, "name or IP address clients use to reach the registry (repeatable)")
	f.StringVar(&o.registryAddr, "registry-addr", ":5000", "address the registry listens on")
	f.StringVar(&o.tokenAddr, "token-addr", ":5001", "address the token server listens on")
	f.StringVar(&o.realm, "realm", "", "token URL the registry advertises (default https://FIRST-HOST:TOKEN-PORT/token)")
	f.StringVar(&o.service, "service", "registry", "service name the registry and tokens use")
	f.StringVar(&o.issuer, "issuer", "regauth", "issuer name tokens carry")
	f.StringVar(&o.keyType, "key-type", string(pki.ECDSAP256),
		fmt.Sprintf("token signing key type, one of %v", pki.KeyTypes))
	f.BoolVar(&o.force, "force", false, "replace existing keys and files")
	_ = cmd.MarkFlagRequired("dir")
	_ = cmd.MarkFlagRequired("host")
	return cmd
}

// runInit creates a deployment. Everything is prepared and checked before
// the first file is written, so that a refused init leaves nothing behind
// that a second try would trip over.
func runInit(o initOptions) error {
	if err := o.complete(); err != nil {
		return err
	}
	files, err := o.files()
	if err != nil {
		return err
	}
	if !o.force {
		for _, f := range files {
			if _, err := os.Stat(f.path); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s exists (use --force to replace it)", f.path)
			}
		}
	}

	layout := pki.Layout{Dir: filepath.Join(o.dir, "pki")}
	err = layout.Init(pki.InitOptions{
		Hosts:      o.hosts,
		SigningKey: pki.KeyType(o.keyType),
		Force:      o.force,
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.path, f.data, f.perm); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(o.dir, "registry", "data"), 0o755)
}

// initFile is a file init writes besides the PKI.
type initFile struct {
	path string
	data []byte
	perm os.FileMode
}

func (o *initOptions) files() ([]initFile, error) {
	config, err := o.configFile()
	if err != nil {
		return nil, err
	}
	registry, err := o.registryConfig()
	if err != nil {
		return nil, err
	}
	return []initFile{
		{filepath.Join(o.dir, "config.yaml"), config, 0o644},
		{filepath.Join(o.dir, "users.yaml"), []byte(usersStarter), 0o600},
		{filepath.Join(o.dir, "acl.yaml"), []byte(aclStarter), 0o644},
		{filepath.Join(o.dir, "registry", "config.yml"), registry, 0o644},
	}, nil
}

// complete checks the options and fills in the realm.
func (o *initOptions) complete() error {
	if len(o.hosts) == 0 {
		return errors.New("init needs at least one --host")
	}
	for _, h := range o.hosts {
		isIP := net.ParseIP(h) != nil
		if h == "" || !isIP && strings.ContainsAny(h, "/:[] ") {
			return fmt.Errorf("--host %q: want a DNS name or an IP address, without port", h)
		}
	}
	for _, addr := range []string{o.registryAddr, o.tokenAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("address %q: %w", addr, err)
		}
	}
	if o.realm == "" {
		_, port, _ := net.SplitHostPort(o.tokenAddr)
		o.realm = (&url.URL{Scheme: "https", Host: net.JoinHostPort(o.hosts[0], port), Path: "/token"}).String()
	}
	if u, err := url.Parse(o.realm); err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("--realm %q: want an absolute URL", o.realm)
	}
	return nil
}

func (o *initOptions) configFile() ([]byte, error) {
	var b strings.Builder
	err := configTemplate.Execute(&b, map[string]any{
		"service": o.service, "issuer": o.issuer, "realm": o.realm,
		"tokenAddr": o.tokenAddr, "registryAddr": o.registryAddr, "hosts": o.hosts,
	})
	return []byte(b.String()), err
}

func (o *initOptions) registryConfig() ([]byte, error) {
	return registryconf.Generate(registryconf.Options{
		Addr:    o.registryAddr,
		Realm:   o.realm,
		Service: o.service,
		Issuer:  o.issuer,
		CertDir: registryconf.ContainerCertDir,
		DataDir: registryconf.ContainerDataDir,
	})
}

var configTemplate = template.Must(template.New("config").Parse(
	`# regauth configuration. Every key is described in config.example.yaml.
# Relative paths are relative to this file.
service: {{.service | printf "%q"}}
issuer: {{.issuer | printf "%q"}}
realm: {{.realm | printf "%q"}}
addr: {{.tokenAddr | printf "%q"}}
token_ttl: 5m
bcrypt_cost: 10
password_cache:
  size: 10000
  ttl: 5m
users: users.yaml
tokens: tokens.yaml
refresh_ttl: 2160h
acl: acl.yaml
pki_dir: pki
trusted_proxies: []
tls:
  cert: pki/server.crt
  key: pki/server.key
signing:
  cert: pki/token.crt
  key: pki/token.key
  x5c: true
log:
  level: info
  format: text
registry:
  addr: {{.registryAddr | printf "%q"}}
  config: registry/config.yml
  hosts:
{{- range .hosts}}
    - {{. | printf "%q"}}
{{- end}}
`))

const usersStarter = `# regauth users. Change it with "regauth user ..."; edits by hand are
# picked up too. Passwords are bcrypt hashes, never clear text.
users: {}
`

const aclStarter = `# Who may do what. For each repository a client asks for, the grant is the
# union of the actions of every matching allow rule, minus the actions of
# every matching deny rule, intersected with what was asked.
#
# Subjects: accounts (names, or "*" for any signed-in account), teams (names,
# or "*" for any team), anonymous: true (every request, signed in or not).
# Repositories: "*" matches within one path segment, "**" across segments;
# ${account} and ${team} stand for the account and each of its teams.
# Actions: pull, push, delete, or "*" for all three. Push needs pull too.
rules:
  # The admin account may do anything, and list the catalog.
  - accounts: [admin]
    repositories: ["**"]
    actions: ["*"]
  - accounts: [admin]
    catalog: true

  # Every account owns the repositories under its own name.
  - accounts: ["*"]
    repositories: ["${account}/**"]
    actions: [pull, push, delete]

  # Members of a team share the team's repositories.
  - teams: ["*"]
    repositories: ["${team}/**"]
    actions: [pull, push]

  # Anyone, even without logging in, may pull what is under public/.
  - anonymous: true
    repositories: ["public/**"]
    actions: [pull]

  # A deny rule takes actions away whatever the allow rules say, e.g.:
  # - deny: true
  #   teams: [interns]
  #   repositories: ["prod/**"]
  #   actions: [push, delete]
`

func printNextSteps(w io.Writer, o initOptions) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	_, regPort, _ := net.SplitHostPort(o.registryAddr)
	host := net.JoinHostPort(o.hosts[0], regPort)
	return nextStepsTemplate.Execute(w, map[string]string{
		"dir": dir, "host": host, "port": regPort,
		"cfg": registryconf.V2ConfigPath, "certs": registryconf.ContainerCertDir,
		"data": registryconf.ContainerDataDir,
	})
}

var nextStepsTemplate = template.Must(template.New("next").Parse(`Created a deployment in {{.dir}}.

1. Trust the CA on every docker host (no daemon restart needed):
     sudo mkdir -p /etc/docker/certs.d/{{.host}}
     sudo cp {{.dir}}/pki/ca.crt /etc/docker/certs.d/{{.host}}/ca.crt
2. Start the token server:
     regauth serve --config {{.dir}}/config.yaml
3. Start the registry with the generated config (registry:2 shown; for
   registry:3 mount the config at /etc/distribution/config.yml):
     docker run -d --name registry -p {{.port}}:{{.port}} \
       -v {{.dir}}/registry/config.yml:{{.cfg}}:ro \
       -v {{.dir}}/pki/ca.crt:{{.certs}}/ca.crt:ro \
       -v {{.dir}}/pki/server.crt:{{.certs}}/server.crt:ro \
       -v {{.dir}}/pki/server.key:{{.certs}}/server.key:ro \
       -v {{.dir}}/registry/data:{{.data}} registry:2
4. Add users (the starter rules give "admin" everything):
     regauth user add admin --config {{.dir}}/config.yaml
     regauth user add alice --team dev --config {{.dir}}/config.yaml
   then on a docker host: docker login {{.host}}
`))
