package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrInvalidFile is wrapped by every error of ParseFile.
var ErrInvalidFile = errors.New("invalid users file")

// File is the file store: accounts in a YAML file, held in memory. Lookups
// read an immutable snapshot and never block; Reload swaps in a new one
// only if the file parses and validates, so a bad edit leaves the last good
// state in force.
type File struct {
	m mapFile[Account]
}

// OpenFile loads the users file at path. A missing file is an empty store.
func OpenFile(path string) (*File, error) {
	f := &File{m: mapFile[Account]{path: path, parse: ParseFile, marshal: MarshalFile}}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path returns the file the store reads.
func (f *File) Path() string { return f.m.path }

// Reload reads the file again and, if it is valid, serves it from now on.
func (f *File) Reload() error { return f.m.reload() }

// Lookup returns the account named name.
func (f *File) Lookup(_ context.Context, name string) (Account, error) {
	a, ok := f.m.load()[name]
	if !ok {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// List returns every account, sorted by name.
func (f *File) List(context.Context) ([]Account, error) {
	m := f.m.load()
	out := make([]Account, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out, nil
}

// Update applies fn to the accounts as they are in the file and writes
// the result back. Concurrent updates, from this process or another
// command, apply one after the other so that none is lost.
func (f *File) Update(fn func(accounts map[string]Account) error) error {
	return f.m.update(fn)
}

// Add stores new accounts. If any name is taken it fails with ErrExists
// and stores none.
func (f *File) Add(_ context.Context, accts ...Account) error {
	return f.Update(func(accounts map[string]Account) error {
		for _, a := range accts {
			if _, ok := accounts[a.Name]; ok {
				return fmt.Errorf("%w: %s", ErrExists, a.Name)
			}
		}
		for _, a := range accts {
			accounts[a.Name] = a
		}
		return nil
	})
}

// Modify applies fn to the account named name and stores the result.
func (f *File) Modify(_ context.Context, name string, fn func(*Account) error) error {
	return f.Update(func(accounts map[string]Account) error {
		a, ok := accounts[name]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err := fn(&a); err != nil {
			return err
		}
		accounts[name] = a
		return nil
	})
}

// Delete removes the account named name.
func (f *File) Delete(_ context.Context, name string) error {
	return f.Update(func(accounts map[string]Account) error {
		if _, ok := accounts[name]; !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		delete(accounts, name)
		return nil
	})
}

// ParseFile parses a users file. Errors name the line of the account at
// fault; no error repeats a password hash.
func ParseFile(data []byte) (map[string]Account, error) {
	var doc struct {
		Users yaml.Node `yaml:"users"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidFile, err)
	}
	accounts := map[string]Account{}
	// "users:" with nothing under it is what removing the last account by
	// hand leaves; refusing it would keep that account able to log in.
	if doc.Users.Kind == 0 || doc.Users.Tag == "!!null" {
		return accounts, nil
	}
	if doc.Users.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: line %d: users must be a mapping of name to account",
			ErrInvalidFile, doc.Users.Line)
	}
	for i := 0; i+1 < len(doc.Users.Content); i += 2 {
		key, val := doc.Users.Content[i], doc.Users.Content[i+1]
		if err := checkAccountFields(key.Value, val); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidFile, err)
		}
		a, err := parseAccount(key, val)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidFile, key.Line, err)
		}
		if _, dup := accounts[a.Name]; dup {
			return nil, fmt.Errorf("%w: line %d: account %q listed twice", ErrInvalidFile, key.Line, a.Name)
		}
		accounts[a.Name] = a
	}
	return accounts, nil
}

// accountFields are the keys an account may have in the file: the YAML
// names of Account's fields, so that a new field needs no change here.
var accountFields = func() []string {
	var names []string
	t := reflect.TypeFor[Account]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}()

// checkAccountFields refuses keys an account does not have. Node.Decode
// does not apply the decoder's KnownFields, and a misspelt "teams" dropped
// without a word would silently take an account out of its teams.
func checkAccountFields(name string, val *yaml.Node) error {
	for val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	if val.Kind != yaml.MappingNode {
		return nil // Decode reports the wrong kind
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		if k := val.Content[i]; !slices.Contains(accountFields, k.Value) {
			return fmt.Errorf("line %d: account %q: unknown field %q", k.Line, name, k.Value)
		}
	}
	return nil
}

// quotedValue is how yaml.v3 and the time parser under it quote a value
// in their errors.
var quotedValue = regexp.MustCompile("`[^`]*`|\"[^\"]*\"")

// redactValues drops the values a YAML error quotes: a hash pasted into
// the wrong field would otherwise reach the log whole.
func redactValues(err error) error {
	return errors.New(quotedValue.ReplaceAllString(err.Error(), "`...`"))
}

func parseAccount(key, val *yaml.Node) (Account, error) {
	var a Account
	if err := val.Decode(&a); err != nil {
		return Account{}, redactValues(err)
	}
	a.Name = key.Value
	if err := ValidateName(a.Name); err != nil {
		return Account{}, err
	}
	for _, t := range a.Teams {
		if err := ValidateName(t); err != nil {
			return Account{}, fmt.Errorf("account %s: team: %w", a.Name, err)
		}
	}
	if _, err := bcryptCost(a.Hash); err != nil {
		return Account{}, fmt.Errorf("account %s: password is not a bcrypt hash", a.Name)
	}
	return a, nil
}

const fileHeader = `# regauth users. Change it with "regauth user ..."; edits by hand are
# picked up too. Passwords are bcrypt hashes, never clear text.
`

// MarshalFile returns the file form of accounts, sorted by name.
//
// It writes the YAML itself rather than through the YAML encoder, which
// reflects over every field of every account: at 100,000 accounts that took
// seconds and a gigabyte per change. The form is fixed and plain; every
// string is double-quoted with Go's quoting, whose escapes YAML's
// double-quoted style shares, so no name or hash can be read as anything
// but a string. ParseFile reads it back (FuzzParseFile checks the round
// trip).
func MarshalFile(accounts map[string]Account) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(fileHeader) + 200*len(accounts))
	b.WriteString(fileHeader)
	if len(accounts) == 0 {
		b.WriteString("users: {}\n")
		return b.Bytes(), nil
	}
	b.WriteString("users:\n")
	for _, name := range slices.Sorted(maps.Keys(accounts)) {
		writeAccount(&b, name, accounts[name])
	}
	return b.Bytes(), nil
}

func writeAccount(b *bytes.Buffer, name string, a Account) {
	b.WriteString("  " + strconv.Quote(name) + ":\n")
	b.WriteString("    password: " + strconv.Quote(a.Hash) + "\n")
	if len(a.Teams) > 0 {
		b.WriteString("    teams: [")
		for i, t := range a.Teams {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(t))
		}
		b.WriteString("]\n")
	}
	if a.Disabled {
		b.WriteString("    disabled: true\n")
	}
	if a.Robot {
		b.WriteString("    robot: true\n")
	}
	if !a.Expires.IsZero() {
		b.WriteString("    expires: " + a.Expires.Format(time.RFC3339Nano) + "\n")
	}
	b.WriteString("    created: " + a.Created.Format(time.RFC3339Nano) + "\n")
	b.WriteString("    changed: " + a.Changed.Format(time.RFC3339Nano) + "\n")
}
