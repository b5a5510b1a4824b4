package users

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReloadKeepsLastGoodState replaces a good users file with things no
// users file can be; each reload is refused and alice keeps logging in.
func TestReloadKeepsLastGoodState(t *testing.T) {
	tests := []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"empty", func(t *testing.T, path string) { writeRaw(t, path, "") }},
		{"comments only", func(t *testing.T, path string) { writeRaw(t, path, "# being edited\n") }},
		{"named pipe", func(t *testing.T, path string) {
			os.Remove(path)
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, path string) {
			os.Remove(path)
			if err := os.Symlink(path+".nowhere", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to a device", func(t *testing.T, path string) {
			os.Remove(path)
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.yaml")
			data, err := MarshalFile(map[string]Account{"alice": testAccount(t, "alice", "pw")})
			if err != nil {
				t.Fatal(err)
			}
			writeRaw(t, path, string(data))
			f, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}

			tt.replace(t, path)
			if err := f.Reload(); err == nil {
				t.Fatal("reload accepted the file")
			}
			if _, err := f.Lookup(context.Background(), "alice"); err != nil {
				t.Fatalf("alice after a refused reload: %v", err)
			}
		})
	}
}

func writeRaw(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestParseErrorsHideValues pastes a hash into a field that cannot hold
// it: the error names the line but not the hash.
func TestParseErrorsHideValues(t *testing.T) {
	hash := testHash(t, "secret")
	data := "users:\n  alice:\n    password: \"" + hash + "\"\n    created: \"" + hash + "\"\n"
	_, err := ParseFile([]byte(data))
	if err == nil {
		t.Fatal("parsed a hash as a time")
	}
	if strings.Contains(err.Error(), hash[7:]) {
		t.Fatalf("error repeats the hash: %v", err)
	}
	if !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("error does not name the line: %v", err)
	}
}
