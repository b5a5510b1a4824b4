package acl

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecideOneScope10kRules decides the one scope of bench/run.sh's
// requests, a pull of public/app, against the 10,000 rules bench/gen
// writes: the starter rules of "regauth init", then one rule in ten for a
// team, one in ten denying a team push, one in ten letting anyone pull a
// public folder, and the rest for one account each. It is the per-request
// cost of the rules in that benchmark's large deployment, to set beside
// BenchmarkSign in tokenserver.
func BenchmarkDecideOneScope10kRules(b *testing.B) {
	p, _, err := Parse([]byte(benchPolicy(10_000)))
	if err != nil {
		b.Fatal(err)
	}
	scopes, err := ParseScopes([]string{"repository:public/app:pull"})
	if err != nil {
		b.Fatal(err)
	}

	subjects := []struct {
		name string
		subj Subject
	}{
		{"anonymous", Subject{}},
		{"account", Subject{Account: "bench", Teams: []string{"team5000", "interns5001"}}},
	}
	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := p.Decide(s.subj, scopes); d[0].Granted != Pull {
					b.Fatalf("granted %v, want pull", d[0].Granted)
				}
			}
		})
	}
}

// benchPolicy returns n rules in the shape bench/gen writes.
func benchPolicy(n int) string {
	var b strings.Builder
	b.WriteString(`rules:
  - {accounts: [admin], repositories: ["**"], actions: ["*"]}
  - {accounts: [admin], catalog: true}
  - {accounts: ["*"], repositories: ["${account}/**"], actions: [pull, push, delete]}
  - {teams: ["*"], repositories: ["${team}/**"], actions: [pull, push]}
  - {anonymous: true, repositories: ["public/**"], actions: [pull]}
`)
	for i := range n - 5 {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "  - {teams: [team%d], repositories: [\"team%d/**\"], "+
				"actions: [pull, push]}\n", i, i)
		case 1:
			fmt.Fprintf(&b, "  - {deny: true, teams: [interns%d], repositories: [\"prod%d/**\"], "+
				"actions: [push]}\n", i, i)
		case 2:
			fmt.Fprintf(&b, "  - {anonymous: true, repositories: [\"public%d/*\"], actions: [pull]}\n", i)
		default:
			fmt.Fprintf(&b, "  - {accounts: [user%d], repositories: [\"user%d/**\", \"shared/app-%d\"], "+
				"actions: [\"*\"]}\n", i, i, i)
		}
	}
	return b.String()
}
