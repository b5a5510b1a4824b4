package users

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regauth/regauth/internal/filewatch"
)

// usersYAML returns a users file with the given accounts. Each is written
// as its name, a newline, then its fields one per line, unindented.
func usersYAML(accounts ...string) string {
	var b strings.Builder
	b.WriteString("users:\n")
	for _, a := range accounts {
		name, body, _ := strings.Cut(a, "\n")
		fmt.Fprintf(&b, "  %s:\n", name)
		for line := range strings.Lines(body) {
			b.WriteString("    " + line)
		}
		if !strings.HasSuffix(b.String(), "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestParseFile(t *testing.T) {
	hash := testHash(t, "s3cret")
	const md5 = "$apr1$Rc7nEXMr$GmwkP3iS9mWzEDx0BHjML/"
	const sha = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="

	tests := []struct {
		name     string
		data     string
		want     map[string]Account
		wantErr  []string // substrings of the error; nil means success
		notInErr []string
	}{
		{
			name: "valid",
			data: usersYAML(
				"alice\npassword: "+hash+"\nteams: [dev, ops]\n"+
					"created: 2024-03-01T12:30:45Z\nchanged: 2024-03-02T00:00:00Z",
				"bob\npassword: '"+hash+"'\ndisabled: true",
				"ci-bot\npassword: "+hash+"\nrobot: true\nexpires: 2024-03-01T12:30:45Z",
			),
			want: map[string]Account{
				"alice": {Name: "alice", Hash: hash, Teams: []string{"dev", "ops"}, Created: testTime,
					Changed: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)},
				"bob":    {Name: "bob", Hash: hash, Disabled: true},
				"ci-bot": {Name: "ci-bot", Hash: hash, Robot: true, Expires: testTime},
			},
		},
		{name: "empty file", data: "", want: map[string]Account{}},
		{name: "comments only", data: "# nobody yet\n", want: map[string]Account{}},
		{name: "empty users mapping", data: "users: {}\n", want: map[string]Account{}},
		{name: "users with nothing under it", data: "# all removed\nusers:\n", want: map[string]Account{}},
		{
			name:    "unknown top-level field",
			data:    "users: {}\ngroups: [dev]\n",
			wantErr: []string{"line 2", "groups"},
		},
		{
			name:     "unknown account field",
			data:     usersYAML("alice\npassword: " + hash + "\nteam: [dev]"),
			wantErr:  []string{"line 4", "alice", `"team"`},
			notInErr: []string{hash},
		},
		{
			name:     "MD5 hash",
			data:     usersYAML("alice\npassword: " + md5),
			wantErr:  []string{"line 2", "alice", "not a bcrypt hash"},
			notInErr: []string{md5, "Rc7nEXMr"},
		},
		{
			name:     "SHA1 hash",
			data:     usersYAML("bob\npassword: '" + sha + "'"),
			wantErr:  []string{"bob", "not a bcrypt hash"},
			notInErr: []string{sha, "5en6G6Mez"},
		},
		{
			name:     "clear-text password",
			data:     usersYAML("carol\npassword: hunter2hunter2"),
			wantErr:  []string{"carol", "not a bcrypt hash"},
			notInErr: []string{"hunter2"},
		},
		{
			name:     "truncated bcrypt hash",
			data:     usersYAML("dave\npassword: " + hash[:40]),
			wantErr:  []string{"dave", "not a bcrypt hash"},
			notInErr: []string{hash[7:40]},
		},
		{
			name:    "no password",
			data:    usersYAML("erin\nteams: [dev]"),
			wantErr: []string{"erin", "not a bcrypt hash"},
		},
		{
			name: "duplicate account",
			data: usersYAML(
				"alice\npassword: "+hash,
				"alice\npassword: "+hash,
			),
			wantErr:  []string{"line 4", "alice", "twice"},
			notInErr: []string{hash},
		},
		{
			name:     "bad team name",
			data:     usersYAML("alice\npassword: " + hash + "\nteams: [dev, 'a/b']"),
			wantErr:  []string{"line 2", "alice", "team"},
			notInErr: []string{hash},
		},
		{
			name:    "bad account name",
			data:    usersYAML("'al ice'\npassword: " + hash),
			wantErr: []string{"line 2", "al ice"},
		},
		{
			name:    "users is a list",
			data:    "users:\n  - alice\n",
			wantErr: []string{"line 2", "mapping"},
		},
		{
			name:    "account is a string",
			data:    "users:\n  alice: " + hash + "\n",
			wantErr: []string{"line 2"},
		},
		{
			name:    "not YAML",
			data:    "users: {alice: [\n",
			wantErr: []string{"yaml"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFile([]byte(tc.data))
			if tc.wantErr != nil {
				if !errors.Is(err, ErrInvalidFile) {
					t.Fatalf("ParseFile = %v, want an ErrInvalidFile", err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				for _, s := range tc.notInErr {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q repeats secret text %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseFile found %d accounts, want %d", len(got), len(tc.want))
			}
			for name, want := range tc.want {
				assertSameAccount(t, got[name], want)
			}
		})
	}
}

func TestParseFileTestdata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := ParseFile(data)
	if err != nil {
		t.Fatalf("ParseFile(testdata/users.yaml): %v", err)
	}
	auth := newTestAuthenticator(t, mapLookup{accounts: accounts})

	tests := []struct {
		account   string
		wantTeams []string
		wantErr   error
	}{
		{"admin", nil, nil},
		{"alice", []string{"dev", "ops"}, nil},
		{"bob", nil, ErrBadCredentials}, // disabled in the file
	}
	for _, tc := range tests {
		t.Run(tc.account, func(t *testing.T) {
			a, err := auth.Authenticate(t.Context(), tc.account, tc.account+"-password")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(a.Teams, tc.wantTeams) {
				t.Errorf("teams = %q, want %q", a.Teams, tc.wantTeams)
			}
		})
	}
}

func TestMarshalFileRoundTrip(t *testing.T) {
	disabled := testAccount(t, "bob", "pw2")
	disabled.Disabled = true
	robot := testAccount(t, "ci-bot", "pw7", "dev")
	robot.Robot, robot.Expires = true, testTime.Add(time.Hour)
	tests := []struct {
		name     string
		accounts []Account
	}{
		{"none", nil},
		{"one", []Account{testAccount(t, "alice", "pw1", "dev")}},
		{"several, disabled, email-like", []Account{
			testAccount(t, "alice", "pw1", "dev", "ops"),
			disabled,
			robot,
			testAccount(t, "carol@example.com", "pw3"),
			testAccount(t, "0", "pw4"),    // a name YAML reads as a number
			testAccount(t, "true", "pw5"), // and one it reads as a boolean
			testAccount(t, "null", "pw6"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]Account{}
			for _, a := range tc.accounts {
				in[a.Name] = a
			}

			data, err := MarshalFile(in)
			if err != nil {
				t.Fatalf("MarshalFile: %v", err)
			}
			out, err := ParseFile(data)
			if err != nil {
				t.Fatalf("ParseFile(MarshalFile(...)): %v\n%s", err, data)
			}

			if len(out) != len(in) {
				t.Fatalf("round trip kept %d of %d accounts:\n%s", len(out), len(in), data)
			}
			for name, want := range in {
				assertSameAccount(t, out[name], want)
			}
		})
	}
}

func FuzzParseFile(f *testing.F) {
	hash := testHash(f, "s3cret")
	f.Add([]byte(""))
	f.Add([]byte("users: {}\n"))
	f.Add([]byte(usersYAML("alice\npassword: " + hash + "\nteams: [dev, ops]\ndisabled: true")))
	f.Add([]byte(usersYAML("alice\npassword: " + hash + "\ncreated: 2024-03-01T12:30:45.5+02:00")))
	f.Add([]byte(usersYAML("bot\npassword: " + hash + "\nrobot: true\nexpires: 2030-01-01T00:00:00Z")))
	f.Add([]byte("users:\n  &a alice: {password: '" + hash + "'}\n  bob: {password: '" + hash + "'}\n"))
	f.Add([]byte("users: {alice: {password: $apr1$x$y}}\n"))
	f.Add([]byte("users: [1, 2]\n"))
	if data, err := os.ReadFile(filepath.Join("testdata", "users.yaml")); err == nil {
		f.Add(data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		accounts, err := ParseFile(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidFile) {
				t.Fatalf("ParseFile error %v does not wrap ErrInvalidFile", err)
			}
			return
		}
		for name, a := range accounts {
			if name != a.Name || ValidateName(name) != nil {
				t.Fatalf("ParseFile accepted account %q under key %q", a.Name, name)
			}
			if _, err := bcryptCost(a.Hash); err != nil {
				t.Fatalf("ParseFile accepted account %q without a bcrypt hash", name)
			}
		}

		out, err := MarshalFile(accounts)
		if err != nil {
			t.Fatalf("MarshalFile of parsed accounts: %v", err)
		}
		again, err := ParseFile(out)
		if err != nil {
			t.Fatalf("ParseFile(MarshalFile(ParseFile(data))): %v\n%s", err, out)
		}
		if len(again) != len(accounts) {
			t.Fatalf("round trip kept %d of %d accounts", len(again), len(accounts))
		}
		for name, want := range accounts {
			assertSameAccount(t, again[name], want)
		}
	})
}

// openTestFile returns a file store over a fresh folder.
func openTestFile(t *testing.T) *File {
	t.Helper()
	f, err := OpenFile(filepath.Join(t.TempDir(), "users.yaml"))
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return f
}

// writeUsersFile writes a users file holding accts to path, in place and
// without the store's lock, as a hand edit would.
func writeUsersFile(t *testing.T, path string, accts ...Account) {
	t.Helper()
	m := map[string]Account{}
	for _, a := range accts {
		m[a.Name] = a
	}
	data, err := MarshalFile(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFile(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no file at all
		want    []string
		wantErr error
	}{
		{"missing file is an empty store", nil, []string{}, nil},
		{"starter file", ptr("users: {}\n"), []string{}, nil},
		{"broken file", ptr("users: [\n"), nil, ErrInvalidFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.yaml")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			f, err := OpenFile(path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("OpenFile = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			list, err := f.List(t.Context())
			if err != nil || !slices.Equal(names(list), tc.want) {
				t.Errorf("List = %q, %v; want %q", names(list), err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestFileWritesPrivateFile(t *testing.T) {
	f := openTestFile(t)
	if err := f.Add(t.Context(), testAccount(t, "alice", "pw")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("users file mode = %v, want 0600: it holds password hashes", perm)
	}
	data, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "pw\n") {
		t.Errorf("users file holds a clear-text password:\n%s", data)
	}
}

// TestFileBrokenWrite is a hand edit gone wrong: the store keeps serving
// the last good accounts, refuses to write over the broken file, and takes
// the next good version.
func TestFileBrokenWrite(t *testing.T) {
	ctx := t.Context()
	f := openTestFile(t)
	alice := testAccount(t, "alice", "pw")
	if err := f.Add(ctx, alice); err != nil {
		t.Fatal(err)
	}

	broken := []byte("users:\n  alice:\n    password: [unterminated\n")
	if err := os.WriteFile(f.Path(), broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); !errors.Is(err, ErrInvalidFile) {
		t.Fatalf("Reload of a broken file = %v, want ErrInvalidFile", err)
	}
	got, err := f.Lookup(ctx, "alice")
	if err != nil {
		t.Fatalf("Lookup after a refused reload = %v, want the last good account", err)
	}
	assertSameAccount(t, got, alice)

	if err := f.Add(ctx, testAccount(t, "bob", "pw")); !errors.Is(err, ErrInvalidFile) {
		t.Errorf("Add over a broken file = %v, want ErrInvalidFile", err)
	}
	if data, _ := os.ReadFile(f.Path()); string(data) != string(broken) {
		t.Errorf("Add replaced the broken file; the hand edit is lost:\n%s", data)
	}

	carol := testAccount(t, "carol", "pw", "dev")
	writeUsersFile(t, f.Path(), carol)
	if err := f.Reload(); err != nil {
		t.Fatalf("Reload of a good file: %v", err)
	}
	if _, err := f.Lookup(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(alice) after the good write = %v, want ErrNotFound", err)
	}
	got, err = f.Lookup(ctx, "carol")
	if err != nil {
		t.Fatalf("Lookup(carol) after the good write: %v", err)
	}
	assertSameAccount(t, got, carol)
}

// TestFileTwoHandles writes through two stores over one file, as the
// token server and a "regauth user" command do: neither loses the other's
// accounts, since each update reads the file under the lock.
func TestFileTwoHandles(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "users.yaml")
	stores := make([]*File, 2)
	for i := range stores {
		f, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = f
	}

	const perStore = 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for i, f := range stores {
		accts := make([]Account, perStore)
		for j := range accts {
			accts[j] = testAccount(t, fmt.Sprintf("s%d-u%d", i, j), "pw")
		}
		wg.Go(func() {
			for _, a := range accts {
				errs <- f.Add(ctx, a)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
	}

	for i, f := range stores {
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
		list, _ := f.List(ctx)
		if len(list) != 2*perStore {
			t.Errorf("store %d lists %d accounts, want %d: %q", i, len(list), 2*perStore, names(list))
		}
	}
}

// Environment of the helper process that TestMain runs instead of the
// tests: it adds accounts to a users file.
const (
	helperEnv      = "REGAUTH_USERS_TEST_HELPER"
	helperFileEnv  = "REGAUTH_USERS_TEST_FILE"
	helperStartEnv = "REGAUTH_USERS_TEST_START"
	helperHashEnv  = "REGAUTH_USERS_TEST_HASH"
	helperCountEnv = "REGAUTH_USERS_TEST_COUNT"
)

// runHelperProcess waits for the start file, so that the processes write
// at the same time, then adds accounts named PREFIX-uN one by one.
func runHelperProcess() error {
	prefix := os.Getenv(helperEnv)
	count, err := strconv.Atoi(os.Getenv(helperCountEnv))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(os.Getenv(helperStartEnv)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("no start signal")
		}
		time.Sleep(5 * time.Millisecond)
	}

	f, err := OpenFile(os.Getenv(helperFileEnv))
	if err != nil {
		return err
	}
	for i := range count {
		a := Account{
			Name:    fmt.Sprintf("%s-u%d", prefix, i),
			Hash:    os.Getenv(helperHashEnv),
			Created: testTime,
			Changed: testTime,
		}
		if err := f.Add(context.Background(), a); err != nil {
			return err
		}
	}
	return nil
}

// TestFileConcurrentProcesses runs writers in separate processes (this
// test binary again), as concurrent "regauth user add" commands are: the
// file lock must keep every account.
func TestFileConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	start := filepath.Join(dir, "start")
	const processes, perProcess = 3, 8
	hash := testHash(t, "pw")

	cmds := make([]*exec.Cmd, processes)
	outputs := make([]*strings.Builder, processes)
	for i := range cmds {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			helperEnv+"="+fmt.Sprintf("p%d", i),
			helperFileEnv+"="+path,
			helperStartEnv+"="+start,
			helperHashEnv+"="+hash,
			helperCountEnv+"="+strconv.Itoa(perProcess),
		)
		outputs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outputs[i], outputs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process %d: %v\n%s", i, err, outputs[i])
		}
	}

	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := f.List(t.Context())
	var want []string
	for i := range processes {
		for j := range perProcess {
			want = append(want, fmt.Sprintf("p%d-u%d", i, j))
		}
	}
	slices.Sort(want)
	if !slices.Equal(names(list), want) {
		t.Errorf("after concurrent writers the file lists %q, want %q", names(list), want)
	}
}

// TestFileLiveReload changes the users file behind the store in the ways
// people and tools do; with the file watched, the store serves the new
// accounts without a restart.
func TestFileLiveReload(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string, data []byte)
	}{
		{"editor-style rename", func(t *testing.T, path string, data []byte) {
			tmp := filepath.Join(filepath.Dir(path), ".users.yaml.swp")
			if err := os.WriteFile(tmp, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"in-place write", func(t *testing.T, path string, data []byte) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"remove and create", func(t *testing.T, path string, data []byte) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another store's update", func(t *testing.T, path string, _ []byte) {
			other, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Add(t.Context(), testAccount(t, "bob", "pw")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := openTestFile(t)
			alice := testAccount(t, "alice", "pw")
			if err := f.Add(t.Context(), alice); err != nil {
				t.Fatal(err)
			}
			// The callbacks may run after the test ends, so they must not
			// use t; a reload may also fail on a half-written file, which
			// the next event corrects, so reload errors are not checked.
			watchErrs := make(chan error, 10)
			err := filewatch.Watch(t.Context(), f.Path(),
				func() { _ = f.Reload() },
				func(err error) {
					select {
					case watchErrs <- err:
					default:
					}
				})
			if err != nil {
				t.Fatal(err)
			}

			m := map[string]Account{"alice": alice, "bob": testAccount(t, "bob", "pw")}
			data, err := MarshalFile(m)
			if err != nil {
				t.Fatal(err)
			}
			tc.write(t, f.Path(), data)

			eventually(t, "bob is served after the write", func() bool {
				_, err := f.Lookup(t.Context(), "bob")
				return err == nil
			})
			if _, err := f.Lookup(t.Context(), "alice"); err != nil {
				t.Errorf("alice after reload: %v", err)
			}
			select {
			case err := <-watchErrs:
				t.Errorf("watch: %v", err)
			default:
			}
		})
	}
}
