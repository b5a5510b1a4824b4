package deploy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const nginxConfPath = "compose-ha/nginx.conf"

func readNginxConf(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(nginxConfPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var upstreamServer = regexp.MustCompile(`(?m)^\s*server\s+([^\s;{]+:\d+)`)

// nginxUpstreams returns the HOST:PORT of every upstream server.
func nginxUpstreams(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range upstreamServer.FindAllStringSubmatch(readNginxConf(t), -1) {
		out = append(out, m[1])
	}
	return out
}

// nginxBlock returns the text of the first block whose header starts with
// header, up to its closing brace.
func nginxBlock(t *testing.T, conf, header string) string {
	t.Helper()
	start := strings.Index(conf, header)
	if start < 0 {
		t.Fatalf("%s has no %q block", nginxConfPath, header)
	}
	depth := 0
	for i := start; i < len(conf); i++ {
		switch conf[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return conf[start : i+1]
			}
		}
	}
	t.Fatalf("%s: the %q block is not closed", nginxConfPath, header)
	return ""
}

// directives returns the directives of a block as "name args" strings,
// comments dropped and whitespace folded.
func directives(block string) []string {
	var out []string
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSuffix(strings.TrimSpace(line), ";")
		if line != "" {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return out
}

// TestNginxConfigMatchesCompose checks nginx.conf against compose-ha: the
// upstreams are its services on the ports they listen on, the certificate
// is mounted where nginx reads it, the port nginx listens on is the one
// published, and the token servers trust nginx's fixed address and no
// other. It also checks the settings a registry proxy needs.
func TestNginxConfigMatchesCompose(t *testing.T) {
	conf := readNginxConf(t)
	c := loadCompose(t, filepath.Join("compose-ha", "docker-compose.yml"))

	var tokenServers []string
	for _, up := range nginxUpstreams(t) {
		name, port, _ := strings.Cut(up, ":")
		svc, ok := c.services[name]
		if !ok {
			t.Errorf("upstream server %s is not a compose service", up)
			continue
		}
		if strings.HasPrefix(stringAt(svc, "image"), "regauth") {
			tokenServers = append(tokenServers, name)
			if port != "5001" {
				t.Errorf("upstream %s: the token servers listen on 5001 (addr in config.yaml)", up)
			}
		}
	}
	for name, svc := range c.services {
		if strings.HasPrefix(stringAt(svc, "image"), "regauth") && !slices.Contains(tokenServers, name) {
			t.Errorf("token server %s is in no nginx upstream", name)
		}
	}
	if len(tokenServers) < 2 {
		t.Errorf("nginx balances over %d token servers, want 2", len(tokenServers))
	}

	nginx := c.mounts(t, "nginx")
	for _, d := range directives(conf) {
		name, file, _ := strings.Cut(d, " ")
		if name == "ssl_certificate" || name == "ssl_certificate_key" {
			if !covered(nginx, file) {
				t.Errorf("%s %s: not mounted into the nginx service", name, file)
			}
		}
	}
	if !slices.Contains(directives(conf), "listen 443 ssl") || c.publishedPort("nginx", "443") == "" {
		t.Error("nginx should listen on 443 with TLS, and compose publish it")
	}

	checkTrustedProxies(t, c, tokenServers)
	checkNginxLocations(t, conf)
}

// checkTrustedProxies checks that each token server trusts exactly the
// fixed address of nginx.
func checkTrustedProxies(t *testing.T, c *composeFile, tokenServers []string) {
	t.Helper()
	addr := stringAt(mapAt(mapAt(c.services["nginx"], "networks"), "backend"), "ipv4_address")
	if addr == "" {
		t.Fatal("nginx has no fixed ipv4_address on the backend network: the token servers cannot trust it")
	}
	for _, name := range tokenServers {
		env := mapAt(c.services[name], "environment")
		if got := stringAt(env, "REGAUTH_TRUSTED_PROXIES"); got != addr+"/32" {
			t.Errorf("%s: REGAUTH_TRUSTED_PROXIES = %q, want nginx's %s/32", name, got, addr)
		}
		if got := stringAt(env, "REGAUTH_TLS_INSECURE_HTTP"); got != "true" {
			t.Errorf("%s: REGAUTH_TLS_INSECURE_HTTP = %q: nginx speaks plain HTTP to it", name, got)
		}
		if len(listAt(c.services[name], "ports")) != 0 {
			t.Errorf("%s publishes ports: its plain HTTP must stay inside the network", name)
		}
	}
}

func checkNginxLocations(t *testing.T, conf string) {
	t.Helper()
	server := directives(nginxBlock(t, conf, "server {"))
	for _, want := range []string{
		"proxy_set_header X-Forwarded-For $remote_addr",
		"proxy_set_header X-Forwarded-Proto $scheme",
		"proxy_set_header Host $http_host",
		"proxy_http_version 1.1",
	} {
		if !slices.Contains(server, want) {
			t.Errorf("server block lacks %q", want)
		}
	}

	v2 := directives(nginxBlock(t, conf, "location /v2/ {"))
	for _, want := range []string{
		"proxy_pass http://registry",
		"client_max_body_size 0",
		"proxy_request_buffering off",
	} {
		if !slices.Contains(v2, want) {
			t.Errorf("location /v2/ lacks %q", want)
		}
	}
	token := directives(nginxBlock(t, conf, "location = /token {"))
	if !slices.Contains(token, "proxy_pass http://regauth") {
		t.Error("location = /token does not go to the regauth upstream")
	}
	if strings.Contains(conf, "$proxy_add_x_forwarded_for") {
		t.Error("X-Forwarded-For is appended to: a client could then choose the address regauth logs")
	}
}

// nginxRun holds what renderNginx replaces to run nginx.conf on this
// machine instead of in the nginx image.
type nginxRun struct {
	prefix    string            // folder for the pid file and the config
	listen    string            // HOST:PORT instead of 443
	cert, key string            // instead of /etc/nginx/certs/server.{crt,key}
	upstreams map[string]string // compose HOST:PORT to loopback HOST:PORT
}

// renderNginx writes nginx.conf with the container paths and names
// replaced, and returns its path. Each replaced text must be present, so
// that a change to nginx.conf cannot make the test check less unnoticed.
func renderNginx(t *testing.T, r nginxRun) string {
	t.Helper()
	conf := readNginxConf(t)
	repl := [][2]string{
		{"pid /var/run/nginx.pid;", fmt.Sprintf("pid %s;", filepath.Join(r.prefix, "nginx.pid"))},
		{"listen 443 ssl;", fmt.Sprintf("listen %s ssl;", r.listen)},
		{"/etc/nginx/certs/server.crt", r.cert},
		{"/etc/nginx/certs/server.key", r.key},
	}
	for from, to := range r.upstreams {
		repl = append(repl, [2]string{"server " + from + " ", "server " + to + " "},
			[2]string{"server " + from + ";", "server " + to + ";"})
	}
	for _, up := range nginxUpstreams(t) {
		if _, ok := r.upstreams[up]; !ok {
			t.Fatalf("upstream server %s has no loopback replacement", up)
		}
	}
	for _, rp := range repl {
		if strings.HasPrefix(rp[0], "server ") {
			conf = strings.ReplaceAll(conf, rp[0], rp[1])
			continue
		}
		if !strings.Contains(conf, rp[0]) {
			t.Fatalf("%s no longer contains %q; update renderNginx", nginxConfPath, rp[0])
		}
		conf = strings.ReplaceAll(conf, rp[0], rp[1])
	}
	path := filepath.Join(r.prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNginxConfigTest runs "nginx -t" on nginx.conf, with a throwaway
// certificate and the upstream names replaced by loopback addresses
// (nginx resolves upstream names when it loads the config).
func TestNginxConfigTest(t *testing.T) {
	bin := requireTool(t, "nginx", "nginx-light")
	prefix := t.TempDir()
	cert, key := writeSelfSignedCert(t, prefix)
	upstreams := map[string]string{}
	for i, up := range nginxUpstreams(t) {
		upstreams[up] = fmt.Sprintf("127.0.0.1:%d", 1+i)
	}
	path := renderNginx(t, nginxRun{
		prefix: prefix, listen: "127.0.0.1:1443", cert: cert, key: key, upstreams: upstreams,
	})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-t", "-p", prefix+"/", "-c", path).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t warns:\n%s", out)
	}
}
