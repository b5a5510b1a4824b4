package acl

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustParse(t testing.TB, data string) *Policy {
	t.Helper()
	p, _, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func mustScopes(t testing.TB, wire ...string) []Scope {
	t.Helper()
	scopes, err := ParseScopes(wire)
	if err != nil {
		t.Fatalf("ParseScopes: %v", err)
	}
	return scopes
}

func ruleLines(rules []*Rule) []int {
	lines := make([]int, len(rules))
	for i, r := range rules {
		lines[i] = r.Line
	}
	return lines
}

// TestDecideExample decides against testdata/acl.yaml. Its rules start on
// lines 5 (admin, everything), 8 (admin, catalog), 12 (any account, its
// own), 17 (any team, its own), 22 (anonymous, pull public), 27 (release
// and ci, prod), 33 (deny interns prod) and 40 (deny delete on public).
// A rule explains a decision when it matches the subject and the resource,
// whether or not its actions were asked.
func TestDecideExample(t *testing.T) {
	p := loadExample(t)
	var (
		anonymous = Subject{}
		admin     = Subject{Account: "admin"}
		alice     = Subject{Account: "alice", Teams: []string{"dev"}}
		loner     = Subject{Account: "loner"}
		ci        = Subject{Account: "ci"}
		intern    = Subject{Account: "ivan", Teams: []string{"interns", "release"}}
	)
	tests := []struct {
		name        string
		subj        Subject
		scope       string
		want        Actions
		wantAllowed []int
		wantDenied  []int
	}{
		{"anonymous pulls public", anonymous, "repository:public/app:pull",
			Pull, []int{22}, []int{40}},
		{"anonymous gets pull of pull and push", anonymous, "repository:public/app:pull,push",
			Pull, []int{22}, []int{40}},
		{"anonymous outside public", anonymous, "repository:dev/app:pull",
			0, nil, nil},
		{"anonymous and an account placeholder", anonymous, "repository:alice/app:pull",
			0, nil, nil},
		{"anonymous catalog", anonymous, "registry:catalog:*",
			0, nil, nil},
		{"account owns its repositories", alice, "repository:alice/app:*",
			All, []int{12}, nil},
		{"account owns its name", alice, "repository:alice:pull",
			Pull, []int{12}, nil},
		{"not another account's", alice, "repository:bob/app:pull",
			0, nil, nil},
		{"team repositories", alice, "repository:dev/tools/app:pull,push,delete",
			Pull | Push, []int{17}, nil},
		{"not another team's", alice, "repository:ops/app:pull",
			0, nil, nil},
		{"anonymous rules apply when signed in", alice, "repository:public/app:pull,push",
			Pull, []int{22}, []int{40}},
		{"account without teams has no team repositories", loner, "repository:dev/app:pull",
			0, nil, nil},
		{"admin everywhere", admin, "repository:dev/app:*",
			All, []int{5}, nil},
		{"anonymous deny applies to admin", admin, "repository:public/app:*",
			Pull | Push, []int{5, 22}, []int{40}},
		{"admin catalog", admin, "registry:catalog:*",
			All, []int{8}, nil},
		{"catalog intersected with asked", admin, "registry:catalog:pull",
			Pull, []int{8}, nil},
		{"no catalog for others", alice, "registry:catalog:*",
			0, nil, nil},
		{"a repository named catalog is a repository", admin, "repository:catalog:pull",
			Pull, []int{5}, nil},
		{"unknown resource type", admin, "widget:catalog:pull",
			0, nil, nil},
		{"account in a rule with teams", ci, "repository:prod/app:pull,push",
			Pull | Push, []int{27}, nil},
		{"second pattern with host", ci, "repository:localhost:5000/prod/app:pull,push",
			Pull | Push, []int{27}, nil},
		{"star stays in one segment", ci, "repository:prod/app/sub:pull",
			0, nil, nil},
		{"deny subtracts from a team allow", intern, "repository:prod/app:pull,push,delete",
			Pull, []int{27}, []int{33}},
		{"deny matched but nothing allowed", intern, "repository:prod/a/b:push",
			0, nil, []int{33}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Decide(tt.subj, mustScopes(t, tt.scope))
			if len(got) != 1 {
				t.Fatalf("Decide gave %d decisions, want 1", len(got))
			}
			d := got[0]
			if d.Granted != tt.want {
				t.Errorf("granted %q, want %q", d.Granted, tt.want)
			}
			if lines := ruleLines(d.AllowedBy); !slices.Equal(lines, tt.wantAllowed) {
				t.Errorf("allowed by rules on lines %v, want %v", lines, tt.wantAllowed)
			}
			if lines := ruleLines(d.DeniedBy); !slices.Equal(lines, tt.wantDenied) {
				t.Errorf("denied by rules on lines %v, want %v", lines, tt.wantDenied)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	var (
		anonymous = Subject{}
		alice     = Subject{Account: "alice", Teams: []string{"dev"}}
		loner     = Subject{Account: "loner"}
	)
	tests := []struct {
		name   string
		rules  string
		subj   Subject
		scopes []string
		want   []Actions
	}{
		{
			name:   "no rules grant nothing",
			rules:  "rules: []",
			subj:   alice,
			scopes: []string{"repository:app:pull"},
			want:   []Actions{0},
		},
		{
			name: "allows are a union",
			rules: `rules:
  - {accounts: [alice], repositories: [app], actions: [pull]}
  - {teams: [dev], repositories: ["*"], actions: [push]}`,
			subj:   alice,
			scopes: []string{"repository:app:*"},
			want:   []Actions{Pull | Push},
		},
		{
			name: "deny subtracts",
			rules: `rules:
  - {accounts: [alice], repositories: ["**"], actions: ["*"]}
  - {deny: true, accounts: [alice], repositories: ["**"], actions: [delete]}`,
			subj:   alice,
			scopes: []string{"repository:app:*"},
			want:   []Actions{Pull | Push},
		},
		{
			name: "deny wins whatever the order",
			rules: `rules:
  - {deny: true, accounts: [alice], repositories: ["**"], actions: [push]}
  - {accounts: [alice], repositories: ["**"], actions: ["*"]}`,
			subj:   alice,
			scopes: []string{"repository:app:pull,push"},
			want:   []Actions{Pull},
		},
		{
			name: "deny of everything",
			rules: `rules:
  - {accounts: [alice], repositories: ["**"], actions: ["*"]}
  - {deny: true, teams: [dev], repositories: ["secret/**"], actions: ["*"]}`,
			subj:   alice,
			scopes: []string{"repository:secret/app:*", "repository:app:pull"},
			want:   []Actions{0, Pull},
		},
		{
			name: "intersection with what was asked",
			rules: `rules:
  - {accounts: [alice], repositories: ["**"], actions: ["*"]}`,
			subj:   alice,
			scopes: []string{"repository:a:pull", "repository:b:push", "repository:c:"},
			want:   []Actions{Pull, Push, 0},
		},
		{
			name: "merged scopes are decided once",
			rules: `rules:
  - {accounts: [alice], repositories: ["dev/*"], actions: [pull, push]}`,
			subj:   alice,
			scopes: []string{"repository:dev/a:pull", "repository:dev/a:pull,push,delete"},
			want:   []Actions{Pull | Push},
		},
		{
			name: "any team matches a member",
			rules: `rules:
  - {teams: ["*"], repositories: [shared], actions: [pull]}`,
			subj:   alice,
			scopes: []string{"repository:shared:pull"},
			want:   []Actions{Pull},
		},
		{
			name: "any team skips an account without teams",
			rules: `rules:
  - {teams: ["*"], repositories: [shared], actions: [pull]}`,
			subj:   loner,
			scopes: []string{"repository:shared:pull"},
			want:   []Actions{0},
		},
		{
			name: "any team skips anonymous",
			rules: `rules:
  - {teams: ["*"], repositories: [shared], actions: [pull]}`,
			subj:   anonymous,
			scopes: []string{"repository:shared:pull"},
			want:   []Actions{0},
		},
		{
			name: "any account skips anonymous",
			rules: `rules:
  - {accounts: ["*"], repositories: ["**"], actions: [pull]}`,
			subj:   anonymous,
			scopes: []string{"repository:app:pull"},
			want:   []Actions{0},
		},
		{
			name: "anonymous rule with an account placeholder",
			rules: `rules:
  - {anonymous: true, repositories: ["${account}/**", "public/*"], actions: [pull]}`,
			subj:   anonymous,
			scopes: []string{"repository:alice/app:pull", "repository:public/app:pull"},
			want:   []Actions{0, Pull},
		},
		{
			name: "anonymous rule with an account placeholder signed in",
			rules: `rules:
  - {anonymous: true, repositories: ["${account}/**"], actions: [pull]}`,
			subj:   alice,
			scopes: []string{"repository:alice/app:pull", "repository:bob/app:pull"},
			want:   []Actions{Pull, 0},
		},
		{
			name: "team placeholder with several teams",
			rules: `rules:
  - {teams: ["*"], repositories: ["${team}/**"], actions: [pull, push]}`,
			subj: Subject{Account: "carol", Teams: []string{"dev", "ops", "qa"}},
			scopes: []string{"repository:dev/a:push", "repository:qa/b/c:pull",
				"repository:sec/d:pull"},
			want: []Actions{Push, Pull, 0},
		},
		{
			name: "catalog rule ignores its actions",
			rules: `rules:
  - {accounts: [alice], catalog: true, repositories: [app], actions: [pull]}`,
			subj:   alice,
			scopes: []string{"registry:catalog:*", "repository:app:*"},
			want:   []Actions{All, Pull},
		},
		{
			name: "catalog can be denied",
			rules: `rules:
  - {accounts: ["*"], catalog: true}
  - {deny: true, teams: [dev], catalog: true}`,
			subj:   alice,
			scopes: []string{"registry:catalog:*"},
			want:   []Actions{0},
		},
		{
			name: "only the catalog of the registry type",
			rules: `rules:
  - {accounts: [alice], catalog: true}`,
			subj:   alice,
			scopes: []string{"registry:other:*"},
			want:   []Actions{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.rules)
			scopes := mustScopes(t, tt.scopes...)
			got := p.Decide(tt.subj, scopes)
			if len(got) != len(tt.want) {
				t.Fatalf("Decide gave %d decisions, want %d", len(got), len(tt.want))
			}
			for i, d := range got {
				if d.Scope != scopes[i] {
					t.Errorf("decision %d is for %v, want %v", i, d.Scope, scopes[i])
				}
				if d.Granted != tt.want[i] {
					t.Errorf("%v: granted %q, want %q", d.Scope, d.Granted, tt.want[i])
				}
			}
		})
	}
}

func TestWireActions(t *testing.T) {
	tests := []struct {
		name string
		d    Decision
		want []string
	}{
		{"catalog in full is a star",
			Decision{Scope: Scope{Type: TypeRegistry, Name: CatalogName}, Granted: All},
			[]string{"*"}},
		{"catalog in part is named",
			Decision{Scope: Scope{Type: TypeRegistry, Name: CatalogName}, Granted: Pull},
			[]string{"pull"}},
		{"repository in full is named",
			Decision{Scope: Scope{Type: TypeRepository, Name: "app"}, Granted: All},
			[]string{"pull", "push", "delete"}},
		{"nothing",
			Decision{Scope: Scope{Type: TypeRepository, Name: "app"}},
			[]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.WireActions(); !slices.Equal(got, tt.want) {
				t.Errorf("WireActions() = %q, want %q", got, tt.want)
			}
		})
	}
}

// BenchmarkDecide decides three scopes for an account in two teams against
// 10,000 rules, the size of a policy with one rule per account of a large
// organisation plus team and deny rules.
func BenchmarkDecide(b *testing.B) {
	var yml strings.Builder
	yml.WriteString("rules:\n")
	const n = 10_000
	for i := range n {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&yml, "  - {teams: [team%d], repositories: ['${team}/**'], "+
				"actions: [pull, push]}\n", i)
		case 1:
			fmt.Fprintf(&yml, "  - {deny: true, teams: [interns%d], repositories: ['prod%d/**'], "+
				"actions: [push]}\n", i, i)
		case 2:
			fmt.Fprintf(&yml, "  - {anonymous: true, repositories: ['public%d/*'], actions: [pull]}\n", i)
		default:
			fmt.Fprintf(&yml, "  - {accounts: [user%d], repositories: ['user%d/**', 'shared/app-%d'], "+
				"actions: ['*']}\n", i, i, i)
		}
	}
	p := mustParse(b, yml.String())
	if len(p.Rules) != n {
		b.Fatalf("parsed %d rules, want %d", len(p.Rules), n)
	}
	subj := Subject{Account: "user9999", Teams: []string{"team5000", "interns5001"}}
	scopes := mustScopes(b,
		"repository:user9999/app:pull,push",
		"repository:team5000/tools/builder:pull",
		"repository:prod5001/api:pull,push")

	b.ReportAllocs()
	for b.Loop() {
		d := p.Decide(subj, scopes)
		if d[0].Granted != Pull|Push {
			b.Fatalf("granted %v on %v", d[0].Granted, d[0].Scope)
		}
	}
}
