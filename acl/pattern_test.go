package acl

import (
	"path"
	"slices"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	var (
		anonymous = Subject{}
		alice     = Subject{Account: "alice", Teams: []string{"dev", "ops"}}
		loner     = Subject{Account: "loner"}
	)
	tests := []struct {
		name    string
		pattern string
		subj    Subject
		repo    string
		want    bool
	}{
		{"literal", "dev/app", alice, "dev/app", true},
		{"literal is exact", "dev/app", alice, "dev/app2", false},
		{"star within a segment", "*", alice, "app", true},
		{"star does not cross a slash", "*", alice, "dev/app", false},
		{"star segment", "dev/*", alice, "dev/app", true},
		{"star segment needs a segment", "dev/*", alice, "dev", false},
		{"star segment stops at one", "dev/*", alice, "dev/a/b", false},
		{"star in a segment", "dev/app-*", alice, "dev/app-1", true},
		{"question mark", "dev/app?", alice, "dev/app1", true},
		{"character class", "team-[ab]/*", alice, "team-b/x", true},
		{"character class miss", "team-[ab]/*", alice, "team-c/x", false},
		{"double star matches one segment", "**", alice, "app", true},
		{"double star matches many", "**", alice, "a/b/c/d", true},
		{"double star with host", "**", alice, "localhost:5000/a", true},
		{"prefix matches itself", "dev/**", alice, "dev", true},
		{"prefix matches below", "dev/**", alice, "dev/app", true},
		{"prefix matches deep", "dev/**", alice, "dev/a/b/c", true},
		{"prefix is a whole segment", "dev/**", alice, "development/app", false},
		{"prefix is at the start", "dev/**", alice, "prod/dev/app", false},
		{"double star first", "**/app", alice, "x/y/app", true},
		{"double star first matches none", "**/app", alice, "app", true},
		{"double star first anchors the end", "**/app", alice, "app/x", false},
		{"double star inside", "dev/**/tools", alice, "dev/tools", true},
		{"double star inside deep", "dev/**/tools", alice, "dev/a/b/tools", true},
		{"double star inside miss", "dev/**/tools", alice, "dev/a/b/tool", false},
		{"host and port literal", "localhost:5000/dev/*", alice, "localhost:5000/dev/app", true},

		{"account", "${account}/**", alice, "alice/app", true},
		{"account is the repository", "${account}/**", alice, "alice", true},
		{"account of someone else", "${account}/**", alice, "bob/app", false},
		{"account exact", "${account}", alice, "alice", true},
		{"account inside a segment", "users/${account}-*", alice, "users/alice-test", true},
		{"account never matches anonymous", "${account}/**", anonymous, "app", false},
		{"account never matches anonymous empty segment", "${account}/**", anonymous, "/app", false},

		{"first team", "${team}/**", alice, "dev/app", true},
		{"second team", "${team}/**", alice, "ops/tools/x", true},
		{"not a team", "${team}/**", alice, "qa/app", false},
		{"no teams", "${team}/**", loner, "loner/app", false},
		{"team for anonymous", "${team}/**", anonymous, "dev/app", false},
		{"team and account", "${team}/${account}/*", alice, "ops/alice/app", true},
		{"team and account of another", "${team}/${account}/*", alice, "ops/bob/app", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compilePattern(tt.pattern)
			if err != nil {
				t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
			}
			if got := p.match(tt.subj, tt.repo); got != tt.want {
				t.Errorf("pattern %q for %+v on %q = %v, want %v",
					tt.pattern, tt.subj, tt.repo, got, tt.want)
			}
		})
	}
}

func TestCompilePatternErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
	}{
		{"empty", ""},
		{"unclosed class", "dev/[ab"},
		{"bad range", "dev/[b-]"},
		{"trailing escape", `dev/app\`},
		{"unknown placeholder", "${user}/**"},
		{"unclosed placeholder", "${account/**"},
		{"placeholder beside a known one", "${account}/${repo}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := compilePattern(tt.pattern); err == nil {
				t.Errorf("compilePattern(%q) succeeded, want an error", tt.pattern)
			}
		})
	}
}

// TestMatchTableAgrees compares the table matcher with the recursive one on
// patterns and names made from a few segments, every combination.
func TestMatchTableAgrees(t *testing.T) {
	segs := []string{"**", "*", "a", "b", "a*"}
	names := [][]string{{}, {"a"}, {"b"}, {"a", "b"}, {"b", "a", "a"}, {"a", "b", "a", "b"}, {"ab", "a"}}
	var pats [][]string
	var grow func(p []string)
	grow = func(p []string) {
		pats = append(pats, p)
		if len(p) == 4 {
			return
		}
		for _, s := range segs {
			grow(append(append([]string{}, p...), s))
		}
	}
	grow(nil)
	for _, p := range pats {
		for _, n := range names {
			if got, want := matchTable(p, n), recursiveMatch(p, n); got != want {
				t.Errorf("pattern %q, name %q: table %v, recursive %v", p, n, got, want)
			}
		}
	}
}

// recursiveMatch is the plain recursive matcher, the reference here.
func recursiveMatch(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if recursiveMatch(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && recursiveMatch(pat[1:], name[1:])
}

// TestManyDoubleStarsStayFast would take minutes with a backtracking
// matcher: 30 "**" against 100 segments that never match the last one.
func TestManyDoubleStarsStayFast(t *testing.T) {
	pat := append(slices.Repeat([]string{"**"}, 30), "z")
	name := slices.Repeat([]string{"a"}, 100)
	if matchSegments(pat, name) {
		t.Fatal("matched a name without z")
	}
}
