package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/regauth/regauth/registryconf"
	"github.com/regauth/regauth/users"
)

// runCLI runs regauth in this process, as a shell would with args and
// stdin, and returns what it printed.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// newDeployment runs "regauth init" in a fresh folder and returns the
// path of its config.yaml.
func newDeployment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, _, err := runCLI(t, "", "init", "--dir", dir, "--host", "registry.test", "--host", "127.0.0.1")
	if err != nil {
		t.Fatalf("regauth init: %v", err)
	}
	if !strings.Contains(out, dir) {
		t.Errorf("init output does not name the folder %s:\n%s", dir, out)
	}
	return filepath.Join(dir, "config.yaml")
}

// cliStep is one command of a session at the shell.
type cliStep struct {
	name       string
	env        map[string]string // set for this step only
	stdin      string
	args       []string
	wantErr    bool
	wantOut    []string // substrings of stdout
	wantStderr []string // substrings of stderr
	notIn      []string // substrings of neither stdout, stderr nor the error
	check      func(t *testing.T, stdout string)
}

// runSteps runs steps in order and stops at the first that fails, since
// each works on what the ones before it left.
func runSteps(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			for k, v := range s.env {
				t.Setenv(k, v)
			}
			stdout, stderr, err := runCLI(t, s.stdin, s.args...)
			if s.wantErr != (err != nil) {
				t.Fatalf("regauth %s: error %v, want error: %v\nstdout:\n%s\nstderr:\n%s",
					strings.Join(s.args, " "), err, s.wantErr, stdout, stderr)
			}
			for _, w := range s.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range s.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			all := stdout + stderr
			if err != nil {
				all += err.Error()
			}
			for _, n := range s.notIn {
				if strings.Contains(all, n) {
					t.Errorf("output holds %q:\n%s", n, all)
				}
			}
			if s.check != nil {
				s.check(t, stdout)
			}
		})
		if !ok {
			t.FailNow()
		}
	}
}

// authenticates checks a password against the store a deployment uses.
func authenticates(t *testing.T, store users.Store, account, password string) error {
	t.Helper()
	auth, err := users.NewAuthenticator(store, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.Authenticate(t.Context(), account, password)
	return err
}

// openUsersFile opens the users file of the deployment at cfg.
func openUsersFile(t *testing.T, cfg string) *users.File {
	t.Helper()
	f, err := users.OpenFile(filepath.Join(filepath.Dir(cfg), "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testACL is a rules file whose line numbers the steps below name.
const testACL = `rules:
  - teams: [dev]
    repositories: ["dev/**"]
    actions: [pull, push]
  - accounts: ["*"]
    repositories: ["prod/**"]
    actions: [pull, push]
  - deny: true
    accounts: [alice]
    repositories: ["prod/**"]
    actions: [push]
`

// TestCLISession manages users, teams and rules of a file-store deployment
// the way an administrator would, then moves the accounts into a second
// deployment that keeps them in Redis.
func TestCLISession(t *testing.T) {
	cfg := newDeployment(t)
	dir := filepath.Dir(cfg)
	c := []string{"--config", cfg}
	tooLong := strings.Repeat("Z", users.MaxPasswordLen) + "9"
	exportPath := filepath.Join(t.TempDir(), "accounts.yaml")

	htpasswdPath := filepath.Join(t.TempDir(), "htpasswd")
	daveHash, err := bcrypt.GenerateFromPassword([]byte("dave-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const erinMD5 = "$apr1$Rc7nEXMr$GmwkP3iS9mWzEDx0BHjML/"
	htpasswd := "dave:$2y$" + strings.TrimPrefix(string(daveHash), "$2a$") + "\nerin:" + erinMD5 + "\n"
	if err := os.WriteFile(htpasswdPath, []byte(htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acl.yaml"), []byte(testACL), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []cliStep{
		{name: "add alice", stdin: "alice-pw1\n",
			args:    append([]string{"user", "add", "alice", "--team", "dev", "--password-stdin"}, c...),
			wantOut: []string{"added alice"}, notIn: []string{"alice-pw1", "$2"}},
		{name: "add bob", stdin: "bob-pw\n",
			args:    append([]string{"user", "add", "bob", "--team", "dev,ops", "--password-stdin"}, c...),
			wantOut: []string{"added bob"}},
		{name: "add alice again", stdin: "other\n", wantErr: true,
			args:  append([]string{"user", "add", "alice", "--password-stdin"}, c...),
			notIn: []string{"other"}},
		{name: "add an invalid name", stdin: "pw\n", wantErr: true,
			args: append([]string{"user", "add", "carol/x", "--password-stdin"}, c...)},
		{name: "add with a 73-byte password", stdin: tooLong + "\n", wantErr: true,
			args:  append([]string{"user", "add", "carol", "--password-stdin"}, c...),
			notIn: []string{tooLong, tooLong[:40]},
			check: func(t *testing.T, _ string) {
				if _, err := openUsersFile(t, cfg).Lookup(t.Context(), "carol"); !errors.Is(err, users.ErrNotFound) {
					t.Errorf("carol after a refused add: %v, want ErrNotFound", err)
				}
			}},
		{name: "change alice's password", stdin: "alice-pw2\n",
			args:    append([]string{"user", "passwd", "alice", "--password-stdin"}, c...),
			wantOut: []string{"alice"}, notIn: []string{"alice-pw2"},
			check: func(t *testing.T, _ string) {
				store := openUsersFile(t, cfg)
				if err := authenticates(t, store, "alice", "alice-pw2"); err != nil {
					t.Errorf("new password: %v", err)
				}
				if err := authenticates(t, store, "alice", "alice-pw1"); !errors.Is(err, users.ErrBadCredentials) {
					t.Errorf("old password: %v, want ErrBadCredentials", err)
				}
			}},
		{name: "list users", args: append([]string{"user", "list"}, c...),
			notIn: []string{"$2"},
			check: func(t *testing.T, out string) {
				assertRow(t, out, "alice", "dev", "active")
				assertRow(t, out, "bob", "dev,ops", "active")
			}},
		{name: "add a team", args: append([]string{"team", "add", "qa", "alice", "bob"}, c...),
			wantOut: []string{"qa"}},
		{name: "list teams", args: append([]string{"team", "list"}, c...),
			wantOut: []string{"dev: alice bob\n", "ops: bob\n", "qa: alice bob\n"}},
		{name: "remove alice from the team", args: append([]string{"team", "del", "qa", "alice"}, c...)},
		{name: "list teams again", args: append([]string{"team", "list"}, c...),
			wantOut: []string{"qa: bob\n"}, notIn: []string{"qa: alice"}},
		{name: "add a member who does not exist", wantErr: true,
			args: append([]string{"team", "add", "qa", "nobody"}, c...)},
		{name: "remove bob", args: append([]string{"user", "del", "bob"}, c...),
			wantOut: []string{"bob"},
			check: func(t *testing.T, _ string) {
				if _, err := openUsersFile(t, cfg).Lookup(t.Context(), "bob"); !errors.Is(err, users.ErrNotFound) {
					t.Errorf("bob after del: %v, want ErrNotFound", err)
				}
			}},
		{name: "import htpasswd", args: append([]string{"user", "import", htpasswdPath}, c...),
			wantOut:    []string{"imported 1 account; skipped 0 accounts that exist and 1 line"},
			wantStderr: []string{"erin", "MD5"},
			notIn:      []string{erinMD5, "Rc7nEXMr", string(daveHash[7:])},
			check: func(t *testing.T, _ string) {
				if err := authenticates(t, openUsersFile(t, cfg), "dave", "dave-pw"); err != nil {
					t.Errorf("imported dave: %v", err)
				}
			}},
		{name: "export", args: append([]string{"user", "export", "--output", exportPath}, c...),
			wantOut: []string{"exported 2 accounts"}, notIn: []string{"$2"},
			check: func(t *testing.T, _ string) {
				fi, err := os.Stat(exportPath)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("export file mode %v, want 0600: it holds hashes", fi.Mode().Perm())
				}
			}},
		{name: "check the rules for alice", args: append([]string{"acl", "check", "--user", "alice",
			"--scope", "repository:dev/app:pull,push", "--scope", "repository:prod/app:pull,push"}, c...),
			wantOut: []string{
				"account alice",
				"allowed by the rule at line 2",
				"allowed by the rule at line 5",
				"denied by the rule at line 8",
			},
			check: func(t *testing.T, out string) {
				_, prod, _ := strings.Cut(out, "repository:prod/app")
				if !strings.Contains(prod, "granted: pull\n") {
					t.Errorf("prod/app should grant pull only:\n%s", out)
				}
			}},
		{name: "check the rules anonymously", args: append([]string{"acl", "check", "--anonymous",
			"--scope", "repository:dev/app:pull"}, c...),
			wantOut: []string{"anonymous", "granted: nothing", "no allow rule matches"}},
		{name: "registry config", args: append([]string{"registry-config"}, c...),
			check: func(t *testing.T, out string) {
				rc, err := registryconf.Parse([]byte(out))
				if err != nil {
					t.Fatalf("registryconf.Parse: %v\n%s", err, out)
				}
				token := rc.Auth["token"]
				if token["service"] != "registry" || token["issuer"] != "regauth" ||
					!strings.HasPrefix(token["realm"].(string), "https://registry.test:") {
					t.Errorf("auth.token = %v", token)
				}
			}},
	}
	runSteps(t, steps)

	// The second deployment keeps its accounts in Redis.
	cfgB := newDeployment(t)
	redisURL := testRedisURL(t)
	env := map[string]string{"REGAUTH_STORE": redisURL}
	cB := []string{"--config", cfgB}
	redisStore := func(t *testing.T) users.Store {
		client, err := users.ParseRedisURL(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		return users.NewRedis(client)
	}
	runSteps(t, []cliStep{
		{name: "import the export into Redis", env: env,
			args:    append([]string{"user", "import", exportPath}, cB...),
			wantOut: []string{"imported 2 accounts; skipped 0 accounts that exist"}, notIn: []string{"$2"},
			check: func(t *testing.T, _ string) {
				store := redisStore(t)
				list, err := store.List(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got := accountNames(list); !slices.Equal(got, []string{"alice", "dave"}) {
					inFile, _ := openUsersFile(t, cfgB).List(t.Context())
					t.Fatalf("accounts in Redis: %q, want alice and dave; the users file of the "+
						"deployment got %q, so REGAUTH_STORE was not applied", got, accountNames(inFile))
				}
				if err := authenticates(t, store, "alice", "alice-pw2"); err != nil {
					t.Errorf("alice through Redis: %v", err)
				}
				if err := authenticates(t, store, "dave", "dave-pw"); err != nil {
					t.Errorf("dave through Redis: %v", err)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(cfgB), "users.yaml")); err != nil {
					t.Errorf("users.yaml of the Redis deployment: %v", err)
				}
			}},
		{name: "import the same file again", env: env,
			args:       append([]string{"user", "import", exportPath}, cB...),
			wantOut:    []string{"imported 0 accounts; skipped 2 accounts that exist"},
			wantStderr: []string{"alice", "exists"}},
		{name: "list in Redis", env: env, args: append([]string{"user", "list"}, cB...),
			notIn: []string{"$2"},
			check: func(t *testing.T, out string) {
				assertRow(t, out, "alice", "dev", "active")
				assertRow(t, out, "dave", "", "active")
			}},
		{name: "team change in Redis", env: env, args: append([]string{"team", "add", "ops", "dave"}, cB...),
			check: func(t *testing.T, _ string) {
				a, err := redisStore(t).Lookup(t.Context(), "dave")
				if err != nil || !slices.Equal(a.Teams, []string{"ops"}) {
					t.Errorf("dave in Redis: %v teams %q, want ops", err, a.Teams)
				}
			}},
		{name: "the file deployment is unchanged", args: append([]string{"team", "list"}, c...),
			notIn: []string{"ops: dave"}},
	})
}

// assertRow fails unless out, a table, has a row for account holding
// teams and status.
func assertRow(t *testing.T, out, account, teams, status string) {
	t.Helper()
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != account {
			continue
		}
		if (teams != "" && !slices.Contains(fields, teams)) || !slices.Contains(fields, status) {
			t.Errorf("row of %s = %q, want teams %q and status %s", account, line, teams, status)
		}
		return
	}
	t.Errorf("no row for %s in:\n%s", account, out)
}

func accountNames(accts []users.Account) []string {
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = a.Name
	}
	return out
}

// TestCLIPasswordNeverPrinted feeds passwords through every command that
// reads one, right and wrong, and looks for them in everything printed.
func TestCLIPasswordNeverPrinted(t *testing.T) {
	cfg := newDeployment(t)
	c := []string{"--config", cfg}
	tests := []struct {
		name     string
		password string
		args     []string
		wantErr  bool
	}{
		{"add", "Secret-One-1", []string{"user", "add", "alice", "--password-stdin"}, false},
		{"passwd", "Secret-Two-2", []string{"user", "passwd", "alice", "--password-stdin"}, false},
		{"passwd of nobody", "Secret-Three-3", []string{"user", "passwd", "nobody", "--password-stdin"}, true},
		{"add, too long", strings.Repeat("Q", 73), []string{"user", "add", "bob", "--password-stdin"}, true},
		{"add, invalid UTF-8", "Secret\xff-4", []string{"user", "add", "bob", "--password-stdin"}, true},
		{"add, empty", "", []string{"user", "add", "bob", "--password-stdin"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, tc.password+"\n", append(tc.args, c...)...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error: %v", err, tc.wantErr)
			}
			all := stdout + stderr
			if err != nil {
				all += err.Error()
			}
			if tc.password != "" && strings.Contains(all, tc.password) {
				t.Errorf("output holds the password:\n%s", all)
			}
		})
	}
}

// TestCLIImportHtpasswdAccountNamedUsers imports an htpasswd file with an
// account called "users".
func TestCLIImportHtpasswdAccountNamedUsers(t *testing.T) {
	cfg := newDeployment(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte("users:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI(t, "", "user", "import", path, "--config", cfg)
	if err != nil || !strings.Contains(out, "imported 1 account;") {
		t.Errorf("import: %v\n%s%s", err, out, stderr)
	}
}
