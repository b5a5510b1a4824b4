package deploy_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regauth/regauth/registryconf"
)

// composeVariant is one Compose deployment and the commands its README
// section runs to create regauth-data.
type composeVariant struct {
	dir string
	// initArgs are the flags of "regauth init" besides --dir.
	initArgs []string
	// noTLS is set when the registry serves plain HTTP behind nginx and its
	// config is rewritten with "regauth registry-config --no-tls".
	noTLS bool
	// tokenService is the service clients reach the realm through.
	tokenService string
}

const exampleHost = "registry.example.com"

var composeVariants = []composeVariant{
	{
		dir:          "compose",
		initArgs:     []string{"--host", exampleHost},
		tokenService: "regauth",
	},
	{
		dir:          "compose-ha",
		initArgs:     []string{"--host", exampleHost, "--realm", "https://" + exampleHost + "/token"},
		noTLS:        true,
		tokenService: "nginx",
	},
}

func (v composeVariant) file() string { return filepath.Join(v.dir, "docker-compose.yml") }

// composeFile is a decoded docker-compose.yml.
type composeFile struct {
	path     string
	services map[string]map[string]any
	volumes  map[string]any
	networks map[string]any
}

func loadCompose(t *testing.T, path string) *composeFile {
	t.Helper()
	doc := readYAML(t, path)
	c := &composeFile{
		path:     path,
		services: map[string]map[string]any{},
		volumes:  mapAt(doc, "volumes"),
		networks: mapAt(doc, "networks"),
	}
	for k := range doc {
		switch {
		case k == "services", k == "volumes", k == "networks", strings.HasPrefix(k, "x-"):
		default:
			t.Errorf("%s: top-level key %q is not one docker-compose v1 and v2 both know", path, k)
		}
	}
	for name, s := range mapAt(doc, "services") {
		svc, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("%s: service %s is not a mapping", path, name)
		}
		c.services[name] = svc
	}
	if len(c.services) == 0 {
		t.Fatalf("%s: no services", path)
	}
	return c
}

// mount is one entry of a service's volumes.
type mount struct {
	source, target string
	readOnly       bool
}

func (m mount) bind() bool {
	return strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
}

func (c *composeFile) mounts(t *testing.T, service string) []mount {
	t.Helper()
	var out []mount
	for _, v := range listAt(c.services[service], "volumes") {
		s, ok := v.(string)
		if !ok {
			t.Errorf("%s: %s: use the short volume syntax SOURCE:TARGET[:ro]", c.path, service)
			continue
		}
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Errorf("%s: %s: volume %q: want SOURCE:TARGET[:MODE]", c.path, service, s)
			continue
		}
		out = append(out, mount{parts[0], parts[1], len(parts) == 3 && parts[2] == "ro"})
	}
	return out
}

// covered reports whether a path inside the container lies in a mount.
func covered(mounts []mount, p string) bool {
	for _, m := range mounts {
		if p == m.target || strings.HasPrefix(p, strings.TrimSuffix(m.target, "/")+"/") {
			return true
		}
	}
	return false
}

// names returns the keys of a list-or-mapping field (depends_on, networks).
func names(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case map[string]any:
		for k := range x {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// publishedPort returns the host port a service publishes for a container
// port, or "" when it does not.
func (c *composeFile) publishedPort(service, containerPort string) string {
	for _, p := range listAt(c.services[service], "ports") {
		s, _ := p.(string)
		parts := strings.Split(s, ":")
		if len(parts) >= 2 && parts[len(parts)-1] == containerPort {
			return parts[len(parts)-2]
		}
	}
	return ""
}

// TestComposeStructure checks each Compose file on its own: the services,
// volumes and networks it names exist, what is built is built from the
// repository, environment overrides name real config keys, and the
// container paths agree with what regauth and the registry read.
func TestComposeStructure(t *testing.T) {
	keys := configKeys(t)
	for _, v := range composeVariants {
		t.Run(v.dir, func(t *testing.T) {
			c := loadCompose(t, v.file())
			checkReferences(t, c)
			for name, svc := range c.services {
				checkService(t, c, v, name, svc, keys)
			}
			if _, ok := c.services[v.tokenService]; !ok {
				t.Errorf("no service %s to reach the realm through", v.tokenService)
			}
		})
	}
}

// checkReferences checks that depends_on, named volumes and networks point
// at things the file declares, and that everything declared is used.
func checkReferences(t *testing.T, c *composeFile) {
	t.Helper()
	usedVolumes, usedNetworks := map[string]bool{}, map[string]bool{}
	for name, svc := range c.services {
		if stringAt(svc, "image") == "" {
			t.Errorf("%s: no image: name one, or the tag to give the build", name)
		}
		for _, dep := range names(svc["depends_on"]) {
			target, ok := c.services[dep]
			if !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
				continue
			}
			if stringAt(mapAt(svc, "depends_on")[dep], "condition") == "service_healthy" &&
				mapAt(target, "healthcheck") == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		for _, m := range c.mounts(t, name) {
			if !m.bind() {
				usedVolumes[m.source] = true
				if _, ok := c.volumes[m.source]; !ok {
					t.Errorf("%s mounts volume %s, which is not declared", name, m.source)
				}
			}
		}
		for _, n := range names(svc["networks"]) {
			usedNetworks[n] = true
			if _, ok := c.networks[n]; !ok {
				t.Errorf("%s joins network %s, which is not declared", name, n)
			}
		}
		if hc := mapAt(svc, "healthcheck"); hc != nil {
			test := listAt(hc, "test")
			if len(test) < 2 || (test[0] != "CMD" && test[0] != "CMD-SHELL") {
				t.Errorf("%s: healthcheck test %v: want [CMD, ...] or [CMD-SHELL, ...]", name, test)
			}
		}
	}
	for v := range c.volumes {
		if !usedVolumes[v] {
			t.Errorf("volume %s is declared and never mounted", v)
		}
	}
	for n := range c.networks {
		if !usedNetworks[n] {
			t.Errorf("network %s is declared and never joined", n)
		}
	}
}

func checkService(t *testing.T, c *composeFile, v composeVariant, name string, svc map[string]any,
	keys map[string]bool) {
	t.Helper()
	if b := mapAt(svc, "build"); b != nil {
		ctxDir := filepath.Join(v.dir, stringAt(b, "context"))
		if _, err := os.Stat(filepath.Join(ctxDir, "go.mod")); err != nil {
			t.Errorf("%s: build context %s is not the repository root", name, ctxDir)
		}
		if _, err := os.Stat(filepath.Join(ctxDir, stringAt(b, "dockerfile"))); err != nil {
			t.Errorf("%s: dockerfile: %v", name, err)
		}
	}

	for env := range mapAt(svc, "environment") {
		if !strings.HasPrefix(env, "REGAUTH_") {
			continue
		}
		known := false
		for k := range keys {
			known = known || envName(k) == env
		}
		if !known {
			t.Errorf("%s: %s overrides no key of config.example.yaml", name, env)
		}
	}

	for _, m := range c.mounts(t, name) {
		if m.bind() && !strings.HasPrefix(m.source, "./regauth-data") {
			if _, err := os.Stat(filepath.Join(v.dir, m.source)); err != nil {
				t.Errorf("%s mounts %s: %v", name, m.source, err)
			}
		}
	}

	if !strings.HasPrefix(stringAt(svc, "image"), "regauth") {
		return
	}
	if u := stringAt(svc, "user"); u == "" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root") {
		t.Errorf("%s: user %q: want the non-root uid that owns regauth-data", name, u)
	}
	cmd := listAt(svc, "command")
	if len(cmd) < 3 || cmd[0] != "serve" || cmd[1] != "--config" {
		t.Fatalf("%s: command %v: want serve --config FILE", name, cmd)
	}
	mounts := c.mounts(t, name)
	if cfg, _ := cmd[2].(string); !covered(mounts, cfg) {
		t.Errorf("%s: the config %s is in no mount", name, cfg)
	}
}

// TestComposeMountsAfterInit creates regauth-data as each variant's
// README says and checks that every file a service mounts from it exists.
func TestComposeMountsAfterInit(t *testing.T) {
	for _, v := range composeVariants {
		t.Run(v.dir, func(t *testing.T) {
			data := readmeDeployment(t, v)
			c := loadCompose(t, v.file())
			for name := range c.services {
				for _, m := range c.mounts(t, name) {
					rel, ok := strings.CutPrefix(m.source, "./regauth-data")
					if !ok {
						continue
					}
					if _, err := os.Stat(filepath.Join(data, rel)); err != nil {
						t.Errorf("%s mounts %s, which regauth init does not make: %v", name, m.source, err)
					}
				}
			}
		})
	}
}

// readmeDeployment runs the commands of a variant's README section and
// returns the regauth-data folder they made.
func readmeDeployment(t *testing.T, v composeVariant) string {
	t.Helper()
	data := initDeployment(t, v.initArgs...)
	if v.noTLS {
		out := runRegauth(t, nil, "", "registry-config",
			"--config", filepath.Join(data, "config.yaml"), "--no-tls")
		if err := os.WriteFile(filepath.Join(data, "registry", "config.yml"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// TestComposeRegistryConfig checks the registry side of each variant: the
// config that regauth writes for it parses with distribution's parser,
// every path in it is mounted into the registry container, the realm is
// the address clients reach the token service at, and the registry's port
// is where the variant sends registry traffic.
func TestComposeRegistryConfig(t *testing.T) {
	for _, v := range composeVariants {
		t.Run(v.dir, func(t *testing.T) {
			c := loadCompose(t, v.file())
			realm := realmOf(v)

			generated, err := registryconf.Generate(registryconf.Options{
				Addr:    ":5000",
				Realm:   realm,
				Service: "registry",
				Issuer:  "regauth",
				CertDir: registryconf.ContainerCertDir,
				DataDir: registryconf.ContainerDataDir,
				NoTLS:   v.noTLS,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkRegistryConfig(t, c, v, generated)

			// The file the README's commands leave in regauth-data.
			written, err := os.ReadFile(filepath.Join(readmeDeployment(t, v), "registry", "config.yml"))
			if err != nil {
				t.Fatal(err)
			}
			checkRegistryConfig(t, c, v, written)

			checkRealmPublished(t, c, v, realm)
		})
	}
}

func realmOf(v composeVariant) string {
	for i, a := range v.initArgs {
		if a == "--realm" {
			return v.initArgs[i+1]
		}
	}
	return "https://" + exampleHost + ":5001/token" // init's default
}

func checkRegistryConfig(t *testing.T, c *composeFile, v composeVariant, data []byte) {
	t.Helper()
	cfg, err := registryconf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	service := ""
	for name, svc := range c.services {
		if strings.HasPrefix(stringAt(svc, "image"), "registry:") {
			service = name
		}
	}
	if service == "" {
		t.Fatal("no service runs a registry image")
	}
	image := stringAt(c.services[service], "image")
	mounts := c.mounts(t, service)

	configPath := registryconf.V2ConfigPath
	if image == "registry:3" {
		configPath = registryconf.V3ConfigPath
	}
	if !slices.ContainsFunc(mounts, func(m mount) bool { return m.target == configPath && m.readOnly }) {
		t.Errorf("%s (%s) reads %s; no read-only mount puts the config there", service, image, configPath)
	}

	token := cfg.Auth["token"]
	paths := map[string]string{
		"auth.token.rootcertbundle": stringAt(map[string]any(token), "rootcertbundle"),
		"storage.filesystem.rootdirectory": stringAt(map[string]any(cfg.Storage["filesystem"]),
			"rootdirectory"),
	}
	if v.noTLS != (cfg.HTTP.TLS.Certificate == "") {
		t.Errorf("registry TLS certificate %q; want TLS exactly when nginx is not in front",
			cfg.HTTP.TLS.Certificate)
	}
	if !v.noTLS {
		paths["http.tls.certificate"] = cfg.HTTP.TLS.Certificate
		paths["http.tls.key"] = cfg.HTTP.TLS.Key
	}
	for key, p := range paths {
		if p == "" || !covered(mounts, p) {
			t.Errorf("registry config %s = %q: not in any mount of %s", key, p, service)
		}
	}
	if got := stringAt(map[string]any(token), "realm"); got != realmOf(v) {
		t.Errorf("auth.token.realm = %q, want %q", got, realmOf(v))
	}

	_, port, err := net.SplitHostPort(cfg.HTTP.Addr)
	if err != nil {
		t.Fatalf("http.addr %q: %v", cfg.HTTP.Addr, err)
	}
	if !v.noTLS && c.publishedPort(service, port) == "" {
		t.Errorf("the registry listens on %s and %s does not publish it", port, service)
	}
	if v.noTLS && !slices.Contains(nginxUpstreams(t), service+":"+port) {
		t.Errorf("the registry listens on %s:%s and no nginx upstream server names it", service, port)
	}
}

// checkRealmPublished checks that the realm's port is published by the
// service that serves the token endpoint to clients.
func checkRealmPublished(t *testing.T, c *composeFile, v composeVariant, realm string) {
	t.Helper()
	u, err := url.Parse(realm)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if !slices.ContainsFunc(listAt(c.services[v.tokenService], "ports"), func(p any) bool {
		s, _ := p.(string)
		return strings.HasPrefix(s, port+":")
	}) {
		t.Errorf("realm %s: %s publishes no host port %s", realm, v.tokenService, port)
	}
}

// TestComposeConfigTool runs each file through "docker-compose config",
// Compose's own parser and validator; it needs no Docker engine.
func TestComposeConfigTool(t *testing.T) {
	tool := requireTool(t, "docker-compose", "docker-compose")
	for _, v := range composeVariants {
		t.Run(v.dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tool, "--project-directory", v.dir, "-f", v.file(), "config", "-q")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("docker-compose config: %v\n%s", err, out)
			}
		})
	}
}
