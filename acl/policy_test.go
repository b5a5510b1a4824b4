package acl

import (
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// loadExample parses testdata/acl.yaml, which uses every feature of the
// format.
func loadExample(t testing.TB) *Policy {
	t.Helper()
	data, err := os.ReadFile("testdata/acl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, warnings, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(testdata/acl.yaml): %v", err)
	}
	if len(warnings) != 0 {
		t.Fatalf("Parse(testdata/acl.yaml) warned: %q", warnings)
	}
	return p
}

func TestParseExample(t *testing.T) {
	p := loadExample(t)

	// ruleSummary is the part of a Rule a reader of acl.yaml sees.
	type ruleSummary struct {
		line      int
		accounts  []string
		teams     []string
		anonymous bool
		patterns  []string
		catalog   bool
		actions   Actions
		deny      bool
	}
	want := []ruleSummary{
		{line: 5, accounts: []string{"admin"}, patterns: []string{"**"}, actions: All},
		{line: 8, accounts: []string{"admin"}, catalog: true},
		{line: 12, accounts: []string{"*"}, patterns: []string{"${account}/**"}, actions: All},
		{line: 17, teams: []string{"*"}, patterns: []string{"${team}/**"}, actions: Pull | Push},
		{line: 22, anonymous: true, patterns: []string{"public/**"}, actions: Pull},
		{line: 27, accounts: []string{"ci"}, teams: []string{"release"},
			patterns: []string{"prod/*", "localhost:5000/prod/*"}, actions: Pull | Push},
		{line: 33, teams: []string{"interns"}, patterns: []string{"prod/**"},
			actions: Push | Delete, deny: true},
		{line: 40, anonymous: true, patterns: []string{"public/**"}, actions: Delete, deny: true},
	}
	if len(p.Rules) != len(want) {
		t.Fatalf("Parse gave %d rules, want %d", len(p.Rules), len(want))
	}
	for i, w := range want {
		r := p.Rules[i]
		var patterns []string
		for _, pat := range r.Repositories {
			patterns = append(patterns, pat.raw)
		}
		got := ruleSummary{r.Line, r.Accounts, r.Teams, r.Anonymous, patterns,
			r.Catalog, r.Actions, r.Deny}
		if got.line != w.line || !slices.Equal(got.accounts, w.accounts) ||
			!slices.Equal(got.teams, w.teams) || got.anonymous != w.anonymous ||
			!slices.Equal(got.patterns, w.patterns) || got.catalog != w.catalog ||
			got.actions != w.actions || got.deny != w.deny {
			t.Errorf("rule %d =\n%+v\nwant\n%+v", i, got, w)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty file", ""},
		{"only a comment", "# nothing yet\n"},
		{"empty list", "rules: []\n"},
		{"null rules", "rules:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warnings, err := Parse([]byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(p.Rules) != 0 || len(warnings) != 0 {
				t.Errorf("Parse = %d rules, warnings %q; want none", len(p.Rules), warnings)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantLine string // the line the message must name
		wantText string // and a word of the reason
	}{
		{
			name: "unknown field in a rule",
			data: `rules:
  - accounts: [alice]
    repositories: ["**"]
    actions: [pull]
  - teams: [interns]
    denny: true
    repositories: ["prod/**"]
    actions: [push]
`,
			wantLine: "line 6", wantText: "denny",
		},
		{
			name: "unknown field in a merged mapping",
			data: `rules:
  - accounts: [alice]
    repositories: ["**"]
    actions: [pull]
  - <<: {teams: [interns], denny: true}
    repositories: ["prod/**"]
    actions: [push]
`,
			wantLine: "line 5", wantText: "denny",
		},
		{
			name: "unknown action in a block list",
			data: `rules:
  - accounts: [alice]
    repositories:
      - "dev/**"
    actions:
      - pull
      - pushh
`,
			wantLine: "line 7 (in the rule at line 2)", wantText: "pushh",
		},
		{
			name: "bad pattern, second of two",
			data: `rules:
  - accounts: [alice]
    repositories:
      - "dev/**"
      - "ops/[x"
    actions: [pull]
`,
			wantLine: "line 5 (in the rule at line 2)", wantText: "ops/[x",
		},
		{
			name:     "alias of itself",
			data:     "rules:\n  - &a {<<: *a, catalog: true}\n",
			wantLine: "line 2", wantText: "",
		},
		{
			name:     "unknown top-level field",
			data:     "rule:\n  - accounts: [alice]\n",
			wantLine: "line 1", wantText: "rule",
		},
		{
			name: "unknown action",
			data: `rules:
  - accounts: [alice]
    repositories: ["**"]
    actions: [pull, pul]
`,
			wantLine: "line 2", wantText: `"pul"`,
		},
		{
			name: "rule naming nobody",
			data: `rules:
  - accounts: [alice]
    repositories: ["**"]
    actions: [pull]

  - repositories: ["**"]
    actions: [pull]
`,
			wantLine: "line 6", wantText: "nobody",
		},
		{
			name: "anonymous false names nobody",
			data: `rules:
  - anonymous: false
    repositories: ["**"]
    actions: [pull]
`,
			wantLine: "line 2", wantText: "nobody",
		},
		{
			name: "bad pattern",
			data: `rules:
  - accounts: [alice]
    repositories: ["dev/[ab"]
    actions: [pull]
`,
			wantLine: "line 2", wantText: "dev/[ab",
		},
		{
			name: "unknown placeholder",
			data: `rules:
  - accounts: ["*"]
    repositories: ["${user}/**"]
    actions: [pull]
`,
			wantLine: "line 2", wantText: "placeholder",
		},
		{
			name: "empty pattern",
			data: `rules:
  - accounts: [alice]
    repositories: [""]
    actions: [pull]
`,
			wantLine: "line 2", wantText: "empty",
		},
		{
			name:     "rule covering nothing",
			data:     "rules:\n  - accounts: [alice]\n    actions: [pull]\n",
			wantLine: "line 2", wantText: "covers nothing",
		},
		{
			name:     "repositories without actions",
			data:     "rules:\n  - accounts: [alice]\n    repositories: [\"**\"]\n",
			wantLine: "line 2", wantText: "actions",
		},
		{
			name:     "empty account name",
			data:     "rules:\n  - accounts: [\"\"]\n    catalog: true\n",
			wantLine: "line 2", wantText: "empty",
		},
		{
			name:     "rule is not a mapping",
			data:     "rules:\n  - alice\n",
			wantLine: "line 2", wantText: "alice",
		},
		{
			name:     "rules is not a list",
			data:     "rules:\n  accounts: [alice]\n",
			wantLine: "line 2", wantText: "",
		},
		{
			name:     "wrong type for a field",
			data:     "rules:\n  - accounts: alice\n    catalog: true\n",
			wantLine: "line 2", wantText: "",
		},
		{
			name:     "broken YAML",
			data:     "rules:\n  - accounts: [alice\n",
			wantLine: "line ", wantText: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := Parse([]byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded with %d rules, want an error", len(p.Rules))
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantLine) || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q, want it to name %q and %q", msg, tt.wantLine, tt.wantText)
			}
		})
	}
}

func TestParseAnchors(t *testing.T) {
	data := `rules:
  - &reader
    accounts: [alice]
    repositories: ["dev/**"]
    actions: [pull]
  - <<: *reader
    accounts: [bob]
  - *reader
`
	p, _, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(p.Rules) != 3 {
		t.Fatalf("Parse gave %d rules, want 3", len(p.Rules))
	}
	bob := p.Rules[1]
	if !slices.Equal(bob.Accounts, []string{"bob"}) || bob.Actions != Pull ||
		len(bob.Repositories) != 1 || bob.Repositories[0].raw != "dev/**" {
		t.Errorf("merged rule = %+v, want bob pulling dev/**", bob)
	}
}

// TestRuleFields keeps the keys checkFields accepts equal to the fields
// ruleYAML decodes.
func TestRuleFields(t *testing.T) {
	typ := reflect.TypeFor[ruleYAML]()
	tags := map[string]bool{}
	for i := range typ.NumField() {
		tags[typ.Field(i).Tag.Get("yaml")] = true
	}
	if !maps.Equal(tags, ruleFields) {
		t.Errorf("ruleFields = %v, ruleYAML has %v", ruleFields, tags)
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // lines the warnings name, in order
	}{
		{
			name: "push without pull",
			data: `rules:
  - accounts: [alice]
    repositories: ["**"]
    actions: [pull]
  - accounts: [ci]
    repositories: ["drop/*"]
    actions: [push]
`,
			want: []string{"line 5"},
		},
		{
			name: "push and delete without pull",
			data: "rules:\n  - teams: [ops]\n    repositories: [\"**\"]\n    actions: [push, delete]\n",
			want: []string{"line 2"},
		},
		{
			name: "denying push alone is fine",
			data: "rules:\n  - deny: true\n    teams: [interns]\n" +
				"    repositories: [\"**\"]\n    actions: [push]\n",
		},
		{
			name: "star includes pull",
			data: "rules:\n  - accounts: [admin]\n    repositories: [\"**\"]\n    actions: [\"*\"]\n",
		},
		{
			name: "catalog alone",
			data: "rules:\n  - accounts: [admin]\n    catalog: true\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := Parse([]byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(warnings) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(warnings[i], w+":") || !strings.Contains(warnings[i], "pull") {
					t.Errorf("warning %q, want one naming %s and pull", warnings[i], w)
				}
			}
		})
	}
}

// FuzzParsePolicy checks that no acl.yaml makes Parse panic, and that an
// error always wraps ErrInvalidPolicy.
func FuzzParsePolicy(f *testing.F) {
	if data, err := os.ReadFile("testdata/acl.yaml"); err == nil {
		f.Add(string(data))
	}
	f.Add("rules:\n  - accounts: [a]\n    repositories: [\"${team}/**\"]\n    actions: [push]\n")
	f.Add("rules:\n  - &r {accounts: [a], catalog: true}\n  - *r\n")
	f.Add("rules:\n  - <<: {accounts: [a]}\n    catalog: true\n")
	f.Add("rules: [{anonymous: true, repositories: ['[', '**'], actions: ['*']}]\n")
	f.Add("rules: {}\n")
	f.Add("---\n...\n")
	f.Fuzz(func(t *testing.T, data string) {
		p, _, err := Parse([]byte(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Parse error %v does not wrap ErrInvalidPolicy", err)
			}
			return
		}
		// A parsed policy must be usable.
		p.Decide(Subject{Account: "a", Teams: []string{"t"}}, []Scope{
			{TypeRepository, "a/b", All}, {TypeRegistry, CatalogName, All},
		})
	})
}
