package acl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// Resource types a registry asks tokens for.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"
)

// CatalogName is the registry resource that lists repositories; the
// registry requires "*" on it.
const CatalogName = "catalog"

// Scope is one resource and the actions asked on it, as in
// "repository:dev/app:pull,push".
type Scope struct {
	Type    string
	Name    string
	Actions Actions
}

// String returns the scope in the wire form type:name:actions.
func (s Scope) String() string {
	return s.Type + ":" + s.Name + ":" + s.Actions.String()
}

// ErrBadScope is wrapped by every scope parsing error.
var ErrBadScope = errors.New("invalid scope")

// Limits on what a request may ask, so that one request cannot make the
// server do unbounded work.
const (
	MaxScopeLen = 512
	MaxScopes   = 64
)

var (
	typePattern = regexp.MustCompile(`^[a-z0-9]+(?:\([a-z0-9]+\))?$`)
	namePattern = regexp.MustCompile(`^(?:` + reference.NameRegexp.String() + `)$`)
)

// ParseScope parses one scope. The name may carry a "host:port/" prefix and
// so contain a colon: the type is cut at the first colon and the actions at
// the last. A class suffix on the type, as in "repository(plugin)", is
// dropped, as registry:3 does. Unknown actions are kept out of the result;
// unknown types parse and are simply never granted.
func ParseScope(s string) (Scope, error) {
	if len(s) > MaxScopeLen {
		return Scope{}, fmt.Errorf("%w: longer than %d bytes", ErrBadScope, MaxScopeLen)
	}
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 {
		return Scope{}, fmt.Errorf("%w %q: want type:name:actions", ErrBadScope, s)
	}
	name, actions := rest[:i], rest[i+1:]

	if !typePattern.MatchString(typ) {
		return Scope{}, fmt.Errorf("%w %q: bad resource type", ErrBadScope, s)
	}
	if j := strings.IndexByte(typ, '('); j >= 0 {
		typ = typ[:j]
	}
	if !validName(typ, name) {
		return Scope{}, fmt.Errorf("%w %q: bad resource name", ErrBadScope, s)
	}
	return Scope{Type: typ, Name: name, Actions: ParseActions(actions)}, nil
}

func validName(typ, name string) bool {
	if typ == TypeRepository {
		return len(name) <= reference.RepositoryNameTotalLengthMax && namePattern.MatchString(name)
	}
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// ParseScopes parses the scope parameters of one token request. Each value
// may hold several scopes separated by spaces. Scopes naming the same
// resource are merged, so that "pull" and "pull,push" on one repository,
// as helm and cross-repository mounts send, are decided once.
func ParseScopes(values []string) ([]Scope, error) {
	var scopes []Scope
	index := map[[2]string]int{}
	for _, v := range values {
		for _, field := range strings.Fields(v) {
			s, err := ParseScope(field)
			if err != nil {
				return nil, err
			}
			key := [2]string{s.Type, s.Name}
			if i, ok := index[key]; ok {
				scopes[i].Actions |= s.Actions
				continue
			}
			if len(scopes) == MaxScopes {
				return nil, fmt.Errorf("%w: more than %d scopes", ErrBadScope, MaxScopes)
			}
			index[key] = len(scopes)
			scopes = append(scopes, s)
		}
	}
	return scopes, nil
}
