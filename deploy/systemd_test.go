package deploy_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const unitPath = "systemd/regauth.service"

// unitFile is a systemd unit: per section, each key's values in order
// (keys such as SystemCallFilter may repeat).
type unitFile map[string]map[string][]string

func (u unitFile) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseUnit reads the INI-like syntax of systemd units: [Section] headers,
// Key=Value lines, # and ; comments. It rejects what systemd would ignore
// with only a warning: a line that is neither, or one before any section.
func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		case section == "":
			t.Errorf("%s:%d: %q before any section", path, n, line)
		case strings.HasSuffix(line, `\`):
			t.Errorf("%s:%d: continuation lines are not handled here; keep one line per key", path, n)
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("%s:%d: %q is not Key=Value", path, n, line)
				continue
			}
			key = strings.TrimSpace(key)
			u[section][key] = append(u[section][key], strings.TrimSpace(value))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSystemdUnit checks the unit: it starts "regauth serve --config" on
// the deployment folder, restarts on failure, runs unprivileged and
// hardened, and may write exactly the folder the CLI and the server write.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, unitPath)
	svc := u["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}

	start := strings.Fields(u.last("Service", "ExecStart"))
	if len(start) != 4 || filepath.Base(start[0]) != "regauth" ||
		start[1] != "serve" || start[2] != "--config" {
		t.Fatalf("ExecStart %q: want /PATH/regauth serve --config FILE", start)
	}
	if !filepath.IsAbs(start[0]) || !filepath.IsAbs(start[3]) {
		t.Errorf("ExecStart %q: systemd needs absolute paths", start)
	}
	configDir := filepath.Dir(start[3])
	if rw := strings.Fields(u.last("Service", "ReadWritePaths")); !slices.Contains(rw, configDir) {
		t.Errorf("ReadWritePaths %q: the server and the CLI write users.yaml and tokens.yaml in %s",
			rw, configDir)
	}
	if _, ok := svc["ExecReload"]; ok {
		t.Error("ExecReload: regauth watches its files; a reload would suggest otherwise")
	}

	want := map[string]string{
		"Restart":         "on-failure",
		"ProtectSystem":   "strict",
		"NoNewPrivileges": "yes",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	}
	for key, value := range want {
		if got := u.last("Service", key); got != value {
			t.Errorf("%s=%q, want %q", key, got, value)
		}
	}
	user, dynamic := u.last("Service", "User"), u.last("Service", "DynamicUser") == "yes"
	if (user == "" || user == "root") && !dynamic {
		t.Errorf("User=%q and no DynamicUser: the server would run as root", user)
	}
	if u.last("Install", "WantedBy") == "" {
		t.Error("no WantedBy: systemctl enable would not start it at boot")
	}
}

// TestSystemdAnalyzeVerify runs "systemd-analyze verify" on the unit. It
// checks the ExecStart binary exists, so the copy verified starts this
// test's own executable instead of /usr/local/bin/regauth.
func TestSystemdAnalyzeVerify(t *testing.T) {
	bin := requireTool(t, "systemd-analyze", "systemd")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// A unit that cannot be wrong tells whether verify works here at all:
	// in some containers it cannot start its manager.
	control := filepath.Join(dir, "regauth-control.service")
	writeFile(t, control, "[Service]\nExecStart="+self+"\n")
	if out, err := verifyUnit(t, bin, control); err != nil || out != "" {
		t.Skipf("systemd-analyze verify does not work in this environment "+
			"(a trivial unit fails: %v %s); the unit was only parsed by TestSystemdUnit", err, out)
	}

	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	const binary = "/usr/local/bin/regauth"
	if !strings.Contains(string(data), "ExecStart="+binary+" ") {
		t.Fatalf("ExecStart no longer starts %s; update this test", binary)
	}
	unit := filepath.Join(dir, "regauth.service")
	writeFile(t, unit, strings.Replace(string(data), "ExecStart="+binary, "ExecStart="+self, 1))
	// Anything it prints is a finding: unknown keys are warnings only.
	if out, err := verifyUnit(t, bin, unit); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func verifyUnit(t *testing.T, bin, unit string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "verify", unit).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
