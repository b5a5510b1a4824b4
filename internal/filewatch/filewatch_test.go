package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder keeps what the file held each time the watch called back. The
// callbacks may run after a test ends, so they never touch its *testing.T.
type recorder struct {
	path string

	mu     sync.Mutex
	seen   []string
	errors []error
}

func (r *recorder) onChange() {
	data, err := os.ReadFile(r.path)
	if err != nil {
		data = []byte("<" + err.Error() + ">")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, string(data))
}

func (r *recorder) onError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, err)
}

func (r *recorder) snapshot() (seen []string, errs []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen), slices.Clone(r.errors)
}

// watch starts a watch on path that lasts as long as the test.
func watch(t *testing.T, path string) *recorder {
	t.Helper()
	r := &recorder{path: path}
	if err := Watch(t.Context(), path, r.onChange, r.onError); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return r
}

// waitSeen waits until a callback has seen the file hold want. It asserts
// that the change is noticed, never how fast.
func waitSeen(t *testing.T, r *recorder, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen, errs := r.snapshot()
		if len(errs) > 0 {
			t.Fatalf("watch errors: %v", errs)
		}
		if slices.Contains(seen, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the callbacks saw %q, never %q", seen, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	tests := []struct {
		name   string
		create bool // whether the file exists before the watch starts
		change func(t *testing.T, path string)
	}{
		{"in-place write", true, func(t *testing.T, path string) {
			mustWrite(t, path, "new")
		}},
		{"in-place write in pieces", true, func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, part := range []string{"n", "e", "w"} {
				if _, err := f.WriteString(part); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"editor-style rename over the file", true, func(t *testing.T, path string) {
			tmp := path + ".tmp"
			mustWrite(t, tmp, "new")
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"remove and create", true, func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, path, "new")
		}},
		{"created after the watch started", false, func(t *testing.T, path string) {
			mustWrite(t, path, "new")
		}},
		{"hard link swap", true, func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other")
			mustWrite(t, other, "new")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(other, path); err != nil {
				t.Skipf("no hard links here: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.yaml")
			if tc.create {
				mustWrite(t, path, "old")
			}
			r := watch(t, path)

			tc.change(t, path)

			waitSeen(t, r, "new")
		})
	}
}

// TestWatchSymlinkSwap updates the file the way Kubernetes updates a
// mounted ConfigMap: the file is a link through "..data", and an update
// swaps "..data" to a new folder. No event names the file, so the poll
// must notice.
func TestWatchSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, ".."+v), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, ".."+v, "users.yaml"), v)
	}
	mustSymlink(t, "..v1", filepath.Join(dir, "..data"))
	path := filepath.Join(dir, "users.yaml")
	mustSymlink(t, filepath.Join("..data", "users.yaml"), path)
	r := watch(t, path)

	mustSymlink(t, "..v2", filepath.Join(dir, "..data_tmp"))
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}

	waitSeen(t, r, "v2")
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// TestWatchOnlyItsFile writes a file beside the watched one before
// changing the watched one: no callback may come from the neighbour.
func TestWatchOnlyItsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	mustWrite(t, path, "old")
	r := watch(t, path)

	mustWrite(t, filepath.Join(dir, "acl.yaml"), "rules: []")
	// A watch that reacted to the neighbour would call back within
	// Debounce; leave it the time to, so that its callback, which would
	// see "old", comes before the change below.
	time.Sleep(3 * Debounce)
	mustWrite(t, path, "new")

	waitSeen(t, r, "new")
	if seen, _ := r.snapshot(); slices.Contains(seen, "old") {
		t.Errorf("a change to another file called back: callbacks saw %q", seen)
	}
}

func TestWatchMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-folder", "users.yaml")
	err := Watch(t.Context(), path, func() {}, func(error) {})
	if err == nil {
		t.Fatal("Watch of a file in a missing folder succeeded")
	}
}

// TestWatchStops checks that the watch releases its inotify instance once
// its context ends, so that reloading configuration does not leak them.
// The watches of the tests before this one end with those tests, so the
// count drops to zero first.
func TestWatchStops(t *testing.T) {
	if _, err := inotifyInstances(); err != nil {
		t.Skipf("cannot count inotify instances: %v", err)
	}
	waitInotifyInstances(t, 0)
	path := filepath.Join(t.TempDir(), "users.yaml")
	mustWrite(t, path, "old")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := Watch(ctx, path, func() {}, func(error) {}); err != nil {
		t.Fatal(err)
	}
	if n, _ := inotifyInstances(); n != 1 {
		t.Fatalf("inotify instances with one watch: %d, want 1", n)
	}
	cancel()

	waitInotifyInstances(t, 0)
}

// waitInotifyInstances waits until the process holds want inotify
// instances.
func waitInotifyInstances(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := inotifyInstances()
		if err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inotify instances: %d after 10s, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inotifyInstances counts the inotify descriptors this process holds.
func inotifyInstances() (int, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && target == "anon_inode:inotify" {
			n++
		}
	}
	return n, nil
}
