package users

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseHtpasswd(t *testing.T) {
	hash := testHash(t, "s3cret") // $2a$, as Go writes it
	hash2y := "$2y$" + strings.TrimPrefix(hash, "$2a$")
	hash2b := "$2b$" + strings.TrimPrefix(hash, "$2a$")
	const (
		md5   = "$apr1$Rc7nEXMr$GmwkP3iS9mWzEDx0BHjML/"
		sha   = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="
		crypt = "hLwJiJIzcO.aw"
	)

	type skip struct {
		line   int
		name   string
		reason string // a substring of the reason
	}
	tests := []struct {
		name      string
		data      string
		want      []HtpasswdEntry
		wantSkips []skip
		wantErr   bool
	}{
		{name: "empty", data: ""},
		{
			name: "bcrypt prefixes",
			data: "a:" + hash2y + "\nb:" + hash + "\nc:" + hash2b + "\n",
			want: []HtpasswdEntry{{1, "a", hash2y}, {2, "b", hash}, {3, "c", hash2b}},
		},
		{
			name: "no final newline, CRLF, comments and blank lines",
			data: "# made by htpasswd\r\n\r\nalice:" + hash2y + "\r\n   \n#bob:" + hash + "\ncarol:" + hash,
			want: []HtpasswdEntry{{3, "alice", hash2y}, {6, "carol", hash}},
		},
		{
			name:      "MD5",
			data:      "alice:" + md5 + "\n",
			wantSkips: []skip{{1, "alice", "MD5"}},
		},
		{
			name:      "SHA1",
			data:      "bob:" + sha + "\n",
			wantSkips: []skip{{1, "bob", "SHA1"}},
		},
		{
			name:      "crypt",
			data:      "carol:" + crypt + "\n",
			wantSkips: []skip{{1, "carol", "crypt"}},
		},
		{
			name:      "clear text",
			data:      "dave:plaintextpw\n",
			wantSkips: []skip{{1, "dave", "unknown hash kind"}},
		},
		{
			name:      "empty hash",
			data:      "erin:\n",
			wantSkips: []skip{{1, "erin", "unknown hash kind"}},
		},
		{
			name:      "bcrypt with a bad cost",
			data:      "frank:$2y$99$" + hash[7:] + "\n",
			wantSkips: []skip{{1, "frank", "malformed bcrypt"}},
		},
		{
			name:      "truncated bcrypt",
			data:      "grace:" + hash2y[:30] + "\n",
			wantSkips: []skip{{1, "grace", "malformed bcrypt"}},
		},
		{
			name:      "no colon",
			data:      "just-a-name\n",
			wantSkips: []skip{{1, "", "not a name:hash"}},
		},
		{
			name:      "invalid name is not repeated",
			data:      "bad name:" + hash + "\n-flag:" + hash + "\n",
			wantSkips: []skip{{1, "", "invalid user name"}, {2, "", "invalid user name"}},
		},
		{
			name: "mixed file keeps going after skips",
			data: "alice:" + md5 + "\nbob:" + hash2y + "\ncarol:" + sha + "\n",
			want: []HtpasswdEntry{{2, "bob", hash2y}},
			wantSkips: []skip{
				{1, "alice", "htpasswd -B"},
				{3, "carol", "htpasswd -B"},
			},
		},
		{
			name:    "line beyond the limit",
			data:    "alice:" + strings.Repeat("x", maxHtpasswdLine) + "\n",
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, skips, err := ParseHtpasswd(strings.NewReader(tc.data))
			if tc.wantErr {
				if err == nil {
					t.Fatal("ParseHtpasswd succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHtpasswd: %v", err)
			}

			if !slices.Equal(entries, tc.want) {
				t.Errorf("entries = %+v, want %+v", entries, tc.want)
			}
			if len(skips) != len(tc.wantSkips) {
				t.Fatalf("skips = %+v, want %d", skips, len(tc.wantSkips))
			}
			for i, s := range skips {
				w := tc.wantSkips[i]
				if s.Line != w.line || s.Name != w.name || !strings.Contains(s.Reason, w.reason) {
					t.Errorf("skip %d = %+v, want line %d, name %q, a reason with %q",
						i, s, w.line, w.name, w.reason)
				}
				for _, secret := range []string{md5, sha, crypt, hash, hash[7:]} {
					if strings.Contains(s.Reason, secret) {
						t.Errorf("skip reason %q repeats a hash", s.Reason)
					}
				}
			}
		})
	}
}

func FuzzParseHtpasswd(f *testing.F) {
	hash := testHash(f, "s3cret")
	f.Add("")
	f.Add("alice:" + hash + "\n")
	f.Add("# comment\r\nbob:$2y$" + hash[4:] + "\r\n\r\n")
	f.Add("carol:$apr1$Rc7nEXMr$GmwkP3iS9mWzEDx0BHjML/\ndave:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n")
	f.Add("erin:hLwJiJIzcO.aw\nno colon\n:$2b$" + hash[4:])
	f.Add("frank:$2y$99$" + hash[7:])

	f.Fuzz(func(t *testing.T, data string) {
		entries, skips, err := ParseHtpasswd(strings.NewReader(data))
		if err != nil {
			if !errors.Is(err, bufio.ErrTooLong) {
				t.Fatalf("ParseHtpasswd failed for another reason than a long line: %v", err)
			}
			return
		}
		lines := strings.Split(data, "\n")

		for _, e := range entries {
			if err := ValidateName(e.Name); err != nil {
				t.Fatalf("entry at line %d has an invalid name: %v", e.Line, err)
			}
			if _, err := bcryptCost(e.Hash); err != nil {
				t.Fatalf("entry %s at line %d has no bcrypt hash: %v", e.Name, e.Line, err)
			}
			if e.Line < 1 || e.Line > len(lines) {
				t.Fatalf("entry %s has line %d of %d", e.Name, e.Line, len(lines))
			}
		}
		for _, s := range skips {
			if s.Line < 1 || s.Line > len(lines) {
				t.Fatalf("skip %+v has line %d of %d", s, s.Line, len(lines))
			}
			if s.Name != "" && ValidateName(s.Name) != nil {
				t.Fatalf("skip %+v repeats an invalid name", s)
			}
			// Short strings occur in any English reason by chance; a hash
			// is long, so only a long one in the reason is a leak.
			_, hash, _ := strings.Cut(strings.TrimRight(lines[s.Line-1], "\r"), ":")
			if len(hash) >= 24 && strings.Contains(s.Reason, hash) {
				t.Fatalf("skip reason %q repeats the hash of line %d", s.Reason, s.Line)
			}
		}
	})
}

// requireHtpasswd skips the test when Apache's htpasswd tool is missing.
func requireHtpasswd(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Skip("htpasswd is not installed (Debian package apache2-utils); " +
			"scripts/test.sh installs it")
	}
	return path
}

// TestHtpasswdTool imports a file made by the real htpasswd tool: its
// bcrypt lines become accounts that log in with their password, and the
// lines of every other hash kind it can write are skipped by name.
func TestHtpasswdTool(t *testing.T) {
	tool := requireHtpasswd(t)
	file := filepath.Join(t.TempDir(), "htpasswd")
	// htpasswd -B accepts a password longer than bcrypt's 72 bytes and
	// hashes the first 72; its user still types the whole password.
	long := strings.Repeat("0123456789", 10)

	users := []struct {
		name     string
		flag     string // hash kind
		password string
		imported bool
	}{
		{"alice", "-B", "alice's s3cret", true},
		{"bob", "-B", "b0b", true},
		{"longpw", "-B", long, true},
		{"md5user", "-m", "md5-pw", false},
		{"shauser", "-s", "sha-pw", false},
		{"cryptuser", "-d", "crypt", false},
		{"plainuser", "-p", "plain-pw", false},
	}
	var made []string
	for i, u := range users {
		args := []string{u.flag, "-b"}
		if i == 0 {
			args = append(args, "-c")
		}
		args = append(args, file, u.name, u.password)
		out, err := exec.CommandContext(t.Context(), tool, args...).CombinedOutput()
		if err != nil {
			if u.imported {
				t.Fatalf("htpasswd %s: %v\n%s", u.flag, err, out)
			}
			t.Logf("htpasswd refuses %s here, not testing that kind: %s", u.flag, out)
			continue
		}
		made = append(made, u.name)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	entries, skips, err := ParseHtpasswd(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("ParseHtpasswd: %v", err)
	}
	store := openTestFile(t)
	for _, e := range entries {
		a := Account{Name: e.Name, Hash: e.Hash, Created: testTime, Changed: testTime}
		if err := store.Add(t.Context(), a); err != nil {
			t.Fatalf("Add(%s): %v", e.Name, err)
		}
	}
	auth := newTestAuthenticator(t, store)

	for _, u := range users {
		if !slices.Contains(made, u.name) {
			continue
		}
		t.Run(u.name, func(t *testing.T) {
			if !u.imported {
				i := slices.IndexFunc(skips, func(s HtpasswdSkip) bool { return s.Name == u.name })
				if i < 0 {
					t.Fatalf("the %s line of %s was not skipped: skips %+v", u.flag, u.name, skips)
				}
				if strings.Contains(skips[i].Reason, strings.TrimPrefix(lineOf(data, u.name), u.name+":")) {
					t.Errorf("skip reason %q repeats the hash", skips[i].Reason)
				}
				return
			}

			if _, err := auth.Authenticate(t.Context(), u.name, u.password); err != nil {
				t.Errorf("Authenticate with the right password: %v", err)
			}
			_, err := auth.Authenticate(t.Context(), u.name, "x"+u.password)
			if !errors.Is(err, ErrBadCredentials) {
				t.Errorf("Authenticate with a wrong password = %v, want ErrBadCredentials", err)
			}
		})
	}
}

// lineOf returns the line of name in an htpasswd file.
func lineOf(data []byte, name string) string {
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, name+":") {
			return strings.TrimRight(line, "\r\n")
		}
	}
	return ""
}
