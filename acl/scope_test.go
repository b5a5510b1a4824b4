package acl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	longName := strings.Repeat("a", 255)
	tests := []struct {
		name string
		in   string
		want Scope
	}{
		{"pull", "repository:dev/app:pull",
			Scope{TypeRepository, "dev/app", Pull}},
		{"pull and push", "repository:dev/app:pull,push",
			Scope{TypeRepository, "dev/app", Pull | Push}},
		{"star means all", "repository:app:*",
			Scope{TypeRepository, "app", All}},
		{"host and port prefix", "repository:localhost:5000/dev/app:pull,push",
			Scope{TypeRepository, "localhost:5000/dev/app", Pull | Push}},
		{"host prefix with upper case", "repository:Registry.Example.com:443/app:pull",
			Scope{TypeRepository, "Registry.Example.com:443/app", Pull}},
		{"bracketed IPv6 host", "repository:[::1]:5000/app:pull",
			Scope{TypeRepository, "[::1]:5000/app", Pull}},
		{"plugin class is dropped", "repository(plugin):vieux/sshfs:pull",
			Scope{TypeRepository, "vieux/sshfs", Pull}},
		{"catalog", "registry:catalog:*",
			Scope{TypeRegistry, CatalogName, All}},
		{"unknown action ignored", "repository:app:pull,frobnicate",
			Scope{TypeRepository, "app", Pull}},
		{"only unknown actions", "repository:app:frobnicate",
			Scope{TypeRepository, "app", 0}},
		{"no actions", "repository:app:",
			Scope{TypeRepository, "app", 0}},
		{"empty action in the list", "repository:app:pull,,push",
			Scope{TypeRepository, "app", Pull | Push}},
		{"action names are case sensitive", "repository:app:PULL,push",
			Scope{TypeRepository, "app", Push}},
		{"separators in the path", "repository:a.b/c_d/e__f/g-h:delete",
			Scope{TypeRepository, "a.b/c_d/e__f/g-h", Delete}},
		{"longest repository name", "repository:" + longName + ":pull",
			Scope{TypeRepository, longName, Pull}},
		{"unknown type parses", "widget:thing:pull",
			Scope{"widget", "thing", Pull}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if err != nil {
				t.Fatalf("ParseScope(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseScope(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseScopeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"type only", "repository"},
		{"no actions part", "repository:app"},
		{"empty type", ":app:pull"},
		{"empty name", "repository::pull"},
		{"empty registry name", "registry::*"},
		{"upper case type", "Repository:app:pull"},
		{"upper case repository", "repository:Dev/App:pull"},
		{"upper case after host", "repository:localhost:5000/App:pull"},
		{"empty path component", "repository:dev//app:pull"},
		{"leading slash", "repository:/app:pull"},
		{"trailing slash", "repository:app/:pull"},
		{"leading separator", "repository:-app:pull"},
		{"space in name", "repository:dev app:pull"},
		{"newline in repository", "repository:dev/app\n:pull"},
		{"NUL in registry name", "registry:cata\x00log:*"},
		{"DEL in registry name", "registry:cata\x7flog:*"},
		{"tab in registry name", "registry:cat\talog:*"},
		{"unclosed class", "repository(plugin:app:pull"},
		{"empty class", "repository():app:pull"},
		{"class with symbols", "repository(a-b):app:pull"},
		{"repository name over 255", "repository:" + strings.Repeat("a", 256) + ":pull"},
		{"scope over the limit", "registry:" + strings.Repeat("a", MaxScopeLen) + ":*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if err == nil {
				t.Fatalf("ParseScope(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrBadScope) {
				t.Errorf("ParseScope(%q) error %v does not wrap ErrBadScope", tt.in, err)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	repo := func(name string, a Actions) Scope { return Scope{TypeRepository, name, a} }
	tests := []struct {
		name   string
		values []string
		want   []Scope
	}{
		{"no values", nil, nil},
		{"empty value", []string{""}, nil},
		{"blank value", []string{"  \t "}, nil},
		{"one scope", []string{"repository:app:pull"},
			[]Scope{repo("app", Pull)}},
		{"repeated parameter keeps order",
			[]string{"repository:b:pull", "repository:a:push"},
			[]Scope{repo("b", Pull), repo("a", Push)}},
		{"space separated in one value",
			[]string{"repository:b:pull repository:a:pull,push"},
			[]Scope{repo("b", Pull), repo("a", Pull|Push)}},
		{"runs of blanks", []string{"  repository:b:pull \t\n repository:a:pull  "},
			[]Scope{repo("b", Pull), repo("a", Pull)}},
		{"same repository merged, as helm asks",
			[]string{"repository:app:pull", "repository:app:pull,push"},
			[]Scope{repo("app", Pull|Push)}},
		{"merge across value and spaces",
			[]string{"repository:app:pull repository:x:pull", "repository:app:delete"},
			[]Scope{repo("app", Pull|Delete), repo("x", Pull)}},
		{"cross-repository mount",
			[]string{"repository:dev/target:pull,push", "repository:dev/source:pull"},
			[]Scope{repo("dev/target", Pull|Push), repo("dev/source", Pull)}},
		{"class merges with plain type",
			[]string{"repository(plugin):app:pull", "repository:app:push"},
			[]Scope{repo("app", Pull|Push)}},
		{"same name of another type stays apart",
			[]string{"repository:catalog:pull", "registry:catalog:*"},
			[]Scope{repo("catalog", Pull), {TypeRegistry, CatalogName, All}}},
		{"host prefix is part of the name",
			[]string{"repository:localhost:5000/app:pull", "repository:app:push"},
			[]Scope{repo("localhost:5000/app", Pull), repo("app", Push)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScopes(tt.values)
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tt.values, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseScopes(%q) =\n%+v\nwant\n%+v", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseScopesLimits(t *testing.T) {
	distinct := func(n int) []string {
		values := make([]string, n)
		for i := range values {
			values[i] = fmt.Sprintf("repository:app%d:pull", i)
		}
		return values
	}
	tests := []struct {
		name    string
		values  []string
		wantLen int
		wantErr bool
	}{
		{"at the limit", distinct(MaxScopes), MaxScopes, false},
		{"one over the limit", distinct(MaxScopes + 1), 0, true},
		{"over the limit in one value",
			[]string{strings.Join(distinct(MaxScopes+1), " ")}, 0, true},
		{"repeats of one repository do not count",
			slices.Repeat([]string{"repository:app:pull"}, 10*MaxScopes), 1, false},
		{"one bad scope spoils the request",
			[]string{"repository:app:pull", "repository:Bad:pull"}, 0, true},
		{"one bad scope among spaces",
			[]string{"repository:app:pull repository"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScopes(tt.values)
			if tt.wantErr {
				if !errors.Is(err, ErrBadScope) {
					t.Fatalf("ParseScopes: error %v, want one wrapping ErrBadScope", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScopes: %v", err)
			}
			if len(got) != tt.wantLen {
				t.Errorf("ParseScopes gave %d scopes, want %d", len(got), tt.wantLen)
			}
		})
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		name      string
		list      string
		want      Actions
		wantNames string
	}{
		{"empty", "", 0, ""},
		{"star", "*", All, "pull,push,delete"},
		{"fixed order", "delete,pull", Pull | Delete, "pull,delete"},
		{"blanks trimmed", " pull , push ", Pull | Push, "pull,push"},
		{"unknown dropped", "pull,admin", Pull, "pull"},
		{"repeats", "push,push", Push, "push"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseActions(tt.list)
			if got != tt.want {
				t.Errorf("ParseActions(%q) = %v, want %v", tt.list, got, tt.want)
			}
			if got.String() != tt.wantNames {
				t.Errorf("String() = %q, want %q", got.String(), tt.wantNames)
			}
		})
	}
}

// scopeSeeds are inputs a fuzzer starts from: the forms clients send and
// the edges of the parser.
var scopeSeeds = []string{
	"repository:dev/app:pull",
	"repository:localhost:5000/dev/app:pull,push",
	"repository:[::1]:5000/app:*",
	"repository(plugin):vieux/sshfs:pull",
	"registry:catalog:*",
	"repository:app:",
	"repository::",
	":::",
	"repository:app",
	"repository(:a:b",
	"widget:a:b:c:d",
	"registry:\x00:*",
	"registry:caté:*",
}

// FuzzParseScope checks that ParseScope never panics and that what it
// accepts survives a trip through its wire form.
func FuzzParseScope(f *testing.F) {
	for _, s := range scopeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseScope(in)
		if err != nil {
			if !errors.Is(err, ErrBadScope) {
				t.Fatalf("ParseScope(%q): error %v does not wrap ErrBadScope", in, err)
			}
			return
		}
		checkScope(t, s)

		wire := s.String()
		again, err := ParseScope(wire)
		if err != nil {
			// "*" comes back as three names, which can push a scope near the
			// limit over it; that is the only reason to refuse the wire form.
			if len(wire) > MaxScopeLen {
				return
			}
			t.Fatalf("ParseScope(%q) = %+v, but its wire form %q fails: %v", in, s, wire, err)
		}
		if again.Type != s.Type || again.Name != s.Name || again.Actions != s.Actions {
			t.Fatalf("ParseScope(%q) = %+v, wire form %q parses to %+v", in, s, wire, again)
		}
	})
}

// FuzzParseScopes checks ParseScopes on two scope parameters: no panic, no
// more than MaxScopes, one scope per resource, and a wire form that parses
// to the same scopes.
func FuzzParseScopes(f *testing.F) {
	f.Add("repository:a:pull repository:a:push", "registry:catalog:*")
	f.Add("repository:a:pull", "repository(plugin):a:delete")
	f.Add(" \t", "")
	f.Add(strings.Repeat("repository:x:pull ", 70), "repository:y:push")
	for _, s := range scopeSeeds {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		scopes, err := ParseScopes([]string{a, b})
		if err != nil {
			if !errors.Is(err, ErrBadScope) {
				t.Fatalf("ParseScopes: error %v does not wrap ErrBadScope", err)
			}
			return
		}
		if len(scopes) > MaxScopes {
			t.Fatalf("ParseScopes gave %d scopes, over the limit of %d", len(scopes), MaxScopes)
		}
		seen := map[[2]string]bool{}
		wires := make([]string, len(scopes))
		for i, s := range scopes {
			checkScope(t, s)
			key := [2]string{s.Type, s.Name}
			if seen[key] {
				t.Fatalf("ParseScopes left %s:%s twice in %+v", s.Type, s.Name, scopes)
			}
			seen[key] = true
			wires[i] = s.String()
			if len(wires[i]) > MaxScopeLen {
				return // see FuzzParseScope
			}
		}

		again, err := ParseScopes([]string{strings.Join(wires, " ")})
		if err != nil {
			t.Fatalf("wire form %q of %+v fails: %v", wires, scopes, err)
		}
		if !slices.Equal(again, scopes) {
			t.Fatalf("wire form of %+v parses to %+v", scopes, again)
		}
	})
}

// checkScope fails t if s is not something ParseScope may return.
func checkScope(t *testing.T, s Scope) {
	t.Helper()
	if s.Type == "" || strings.ContainsAny(s.Type, "():") {
		t.Fatalf("scope %+v: bad type", s)
	}
	if s.Name == "" {
		t.Fatalf("scope %+v: empty name", s)
	}
	if s.Actions&^All != 0 {
		t.Fatalf("scope %+v: actions outside the known set", s)
	}
}

func BenchmarkParseScopes(b *testing.B) {
	values := []string{
		"repository:dev/app:pull,push",
		"repository:dev/app:pull repository:dev/base:pull",
		"repository:localhost:5000/team/tools/builder:pull,push,delete",
		"registry:catalog:*",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseScopes(values); err != nil {
			b.Fatal(err)
		}
	}
}
