package acl

import (
	"fmt"
	"sync/atomic"

	"github.com/regauth/regauth/internal/configfile"
)

// File is a policy loaded from a file that can be loaded again while it is
// in use. A reload that fails leaves the policy in force unchanged.
type File struct {
	path   string
	policy atomic.Pointer[Policy]
}

// OpenFile loads the policy at path.
func OpenFile(path string) (*File, []string, error) {
	f := &File{path: path}
	warnings, err := f.Reload()
	if err != nil {
		return nil, nil, err
	}
	return f, warnings, nil
}

// Path returns the file the policy is read from.
func (f *File) Path() string { return f.path }

// Policy returns the policy in force. It never returns nil once OpenFile
// has succeeded.
func (f *File) Policy() *Policy { return f.policy.Load() }

// Reload reads the file again and puts it in force if it is valid.
func (f *File) Reload() (warnings []string, err error) {
	data, err := configfile.Read(f.path)
	if err != nil {
		return nil, err
	}
	p, warnings, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	f.policy.Store(p)
	return warnings, nil
}
