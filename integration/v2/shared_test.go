package v2_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSharedFilesMatch keeps the harness that the registry:2 and registry:3
// tests share identical in both packages, apart from the package clause.
//
// NOTE(integration): the two packages cannot share the harness by import
// while it lives in _test.go files, and the folders these tests were given
// are integration/v2 and integration/v3 only. Moving env_test.go and
// flow_test.go into a package such as integration/internal/harness would
// remove the copy and this test.
func TestSharedFilesMatch(t *testing.T) {
	for _, name := range []string{"env_test.go", "flow_test.go"} {
		v2, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		v3, err := os.ReadFile(filepath.Join("..", "v3", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(withoutPackageClause(v2), withoutPackageClause(v3)) {
			t.Errorf("%s differs from ../v3/%[1]s: change both alike", name)
		}
	}
}

func withoutPackageClause(src []byte) []byte {
	_, rest, _ := bytes.Cut(src, []byte("\n"))
	return rest
}
