package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/regauth/regauth/internal/atomicfile"
	"github.com/regauth/regauth/internal/configfile"
	"golang.org/x/sys/unix"
)

// mapFile is a file holding one map, served from an immutable in-memory
// snapshot. Reads never block; Reload swaps in a new snapshot only if the
// file parses, so a bad edit leaves the last good state in force. Updates
// from any process go one after the other under an exclusive lock on a
// file beside it, and replace the file by a rename, so none is lost and no
// reader sees half a file.
type mapFile[V any] struct {
	path    string
	parse   func([]byte) (map[string]V, error)
	marshal func(map[string]V) ([]byte, error)
	snap    atomic.Pointer[map[string]V]
	// existed is set once the file has been read: from then on a missing
	// file is a file being replaced, or removed by mistake, not a store
	// that has no entries yet.
	existed atomic.Bool
}

// errGone is returned by reload for a file that existed and is missing.
var errGone = errors.New("file is gone; keeping what was loaded")

func (f *mapFile[V]) load() map[string]V { return *f.snap.Load() }

// reload reads the file again and serves it if it is valid. A file that
// was never there is an empty map; one that was there and is missing now
// is refused, like any other bad state of the file.
func (f *mapFile[V]) reload() error {
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) && f.existed.Load() {
		return fmt.Errorf("%s: %w", f.path, errGone)
	}
	m, err := f.read()
	if err != nil {
		return err
	}
	f.snap.Store(&m)
	return nil
}

func (f *mapFile[V]) read() (map[string]V, error) {
	data, err := configfile.Read(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]V{}, nil
	}
	if err != nil {
		return nil, err
	}
	f.existed.Store(true)
	m, err := f.parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return m, nil
}

// update applies fn to the map as it is in the file and writes the result.
func (f *mapFile[V]) update(fn func(map[string]V) error) error {
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()

	m, err := f.read()
	if err != nil {
		return err
	}
	if err := fn(m); err != nil {
		return err
	}
	data, err := f.marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.snap.Store(&m)
	return nil
}

func lockFile(path string) (unlock func(), err error) {
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		lf.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { lf.Close() }, nil
}
