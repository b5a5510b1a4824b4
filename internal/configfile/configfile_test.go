package configfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxSize+1); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		wantErr error // nil: no error; errAny: some error
	}{
		{"content", write("ok", "users: {}\n"), nil},
		{"content after comments", write("commented", "# header\n\nrules: []\n"), nil},
		{"empty", write("empty", ""), ErrEmpty},
		{"only comments and blanks", write("comments", "# a\n   \n\t# b\n"), ErrEmpty},
		{"missing", filepath.Join(dir, "missing"), fs.ErrNotExist},
		{"named pipe", fifo, errAny},
		{"device through a symlink", link, errAny},
		{"too large", big, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.path)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Read: %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("Read succeeded")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Read: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")
