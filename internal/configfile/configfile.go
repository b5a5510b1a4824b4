// Package configfile reads the files regauth reloads while it runs (users,
// rules, refresh tokens), refusing what no such file can be: something
// other than a regular file, a file too large to be one, or one with
// nothing in it. Those refusals keep the last good state in force, where
// reading on would hang on a pipe, exhaust memory on /dev/zero, or serve an
// empty state from a file caught half written.
package configfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// MaxSize bounds a file: 64 MiB holds some 350,000 accounts.
const MaxSize = 64 << 20

// ErrEmpty is returned for a file with nothing but blanks and comments.
var ErrEmpty = errors.New("file is empty")

// Read returns the content of the regular file at path. A missing file is
// an error wrapping fs.ErrNotExist, as with os.ReadFile.
func Read(path string) ([]byte, error) {
	// O_NONBLOCK: opening a named pipe would otherwise wait for a writer.
	// It changes nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, MaxSize>>20)
	}
	if blank(data) {
		return nil, fmt.Errorf("%s: %w", path, ErrEmpty)
	}
	return data, nil
}

// blank reports whether data holds only white space and # comments.
func blank(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxSize+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}
