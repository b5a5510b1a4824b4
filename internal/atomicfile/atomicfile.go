// Package atomicfile replaces files so that a reader sees the old content
// or the new, never a mix, and the new file has exactly the mode asked.
package atomicfile

import (
	"os"

	"github.com/google/renameio/v2"
)

// Write writes data to a temporary file beside path and renames it over
// path. The file gets perm whatever the umask and whatever mode the file
// it replaces had: a key file that was once world-readable must not stay
// so when it is rewritten.
func Write(path string, data []byte, perm os.FileMode) error {
	f, err := renameio.NewPendingFile(path, renameio.WithPermissions(perm),
		renameio.WithStaticPermissions(perm))
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}
