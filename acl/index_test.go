package acl

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestIndexAgreesWithScan decides random scopes for random subjects under
// random policies twice: through the index, and by scanning every rule.
// The grants and the explaining rules must be the same.
func TestIndexAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"alice", "bob", "carol", "*"}
	teams := []string{"dev", "ops", "*"}
	patterns := []string{"**", "dev/**", "dev/*", "dev", "ops/app", "${account}/**", "${team}/**",
		"*/tools", "public/**", "a[lb]*/x", "dev/**/cache", "alice/**"}
	repos := []string{"dev", "dev/app", "dev/a/b", "ops/app", "alice/x", "bob/y", "public/z",
		"tools/tools", "ab/x", "dev/x/cache", "localhost:5000/dev/app"}
	subjects := []Subject{{}, {Account: "alice", Teams: []string{"dev"}}, {Account: "bob"},
		{Account: "carol", Teams: []string{"ops", "dev"}}, {Account: "dave", Teams: []string{"qa"}}}

	for round := range 200 {
		var b strings.Builder
		b.WriteString("rules:\n")
		for range 1 + rng.IntN(12) {
			fmt.Fprintf(&b, "  - deny: %v\n", rng.IntN(4) == 0)
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "    anonymous: true\n")
			case 1:
				fmt.Fprintf(&b, "    accounts: [%q]\n", names[rng.IntN(len(names))])
			default:
				fmt.Fprintf(&b, "    teams: [%q, %q]\n", teams[rng.IntN(len(teams))], teams[rng.IntN(len(teams))])
			}
			if rng.IntN(5) == 0 {
				b.WriteString("    catalog: true\n")
			}
			fmt.Fprintf(&b, "    repositories: [%q, %q]\n", patterns[rng.IntN(len(patterns))],
				patterns[rng.IntN(len(patterns))])
			b.WriteString("    actions: [pull, push]\n")
		}
		p, _, err := Parse([]byte(b.String()))
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, b.String())
		}
		scan := &Policy{Rules: p.Rules}

		scopes := []Scope{{Type: TypeRegistry, Name: CatalogName, Actions: All}}
		for _, r := range repos {
			scopes = append(scopes, Scope{Type: TypeRepository, Name: r, Actions: All})
		}
		for _, subj := range subjects {
			got, want := p.Decide(subj, scopes), scan.Decide(subj, scopes)
			for i := range got {
				if got[i].Granted != want[i].Granted ||
					!slices.Equal(got[i].AllowedBy, want[i].AllowedBy) ||
					!slices.Equal(got[i].DeniedBy, want[i].DeniedBy) {
					t.Fatalf("round %d, %+v, %s: index grants %v (%d allow, %d deny), scan %v (%d, %d)\n%s",
						round, subj, scopes[i], got[i].Granted, len(got[i].AllowedBy), len(got[i].DeniedBy),
						want[i].Granted, len(want[i].AllowedBy), len(want[i].DeniedBy), b.String())
				}
			}
		}
	}
}
