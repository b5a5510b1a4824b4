// Package filewatch calls a function when a file changes, however it is
// changed: written in place, replaced by a rename (as editors and
// configuration tools do), removed and created again.
package filewatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long Watch waits after the last event before it calls
// back: one save often produces several events (truncate, write, chmod),
// and the callback should see the finished file.
const Debounce = 100 * time.Millisecond

// Poll is how often Watch also compares the file's size, time and inode
// with what it saw last. Events alone miss changes made through a symbolic
// link swap, which is how Kubernetes updates a mounted ConfigMap or Secret.
const Poll = 2 * time.Second

// Watch calls onChange each time the file at path changes, until ctx is
// done. It watches the file's folder, not the file: a watch on the file
// itself is lost when the file is replaced by a rename. Watch returns once
// the watch is in place; errors after that go to onError.
func Watch(ctx context.Context, path string, onChange func(), onError func(error)) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return fmt.Errorf("watch %s: %w", path, err)
	}
	// The state the poll compares against is taken here, not in the
	// goroutine: a change made after Watch returns but before the
	// goroutine runs would otherwise become the baseline and, when no
	// event names the file (a symbolic link swap), never be reported.
	go loop(ctx, w, abs, stat(abs), onChange, onError)
	return nil
}

func loop(ctx context.Context, w *fsnotify.Watcher, path string, last fileState,
	onChange func(), onError func(error)) {
	defer w.Close()
	timer := time.NewTimer(0)
	<-timer.C
	poll := time.NewTicker(Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) == path && !ev.Has(fsnotify.Chmod) {
				timer.Reset(Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			onError(err)
		case <-poll.C:
			if now := stat(path); now != last {
				timer.Reset(0)
			}
		case <-timer.C:
			last = stat(path)
			onChange()
		}
	}
}

// fileState is what the poll compares.
type fileState struct {
	size  int64
	mtime time.Time
	inode uint64
	found bool
}

func stat(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	st := fileState{size: fi.Size(), mtime: fi.ModTime(), found: true}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.inode = sys.Ino
	}
	return st
}
