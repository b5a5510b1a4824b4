package acl

import (
	"slices"
	"strings"
)

// index narrows the rules a decision looks at to those that can apply:
// first by whom a rule names, then by the literal first segment of its
// repository patterns. With thousands of rules, one per account or per
// team folder, a scope then looks at a handful instead of all of them.
type index struct {
	bySubject map[subjectKey]*ruleSet
}

// subjectKey is one way a rule names its subject: everyone (anonymous:
// true), an account or a team, by name or "*".
type subjectKey struct {
	kind byte // 'e' everyone, 'a' account, 't' team
	name string
}

// ruleSet holds indices into Policy.Rules.
type ruleSet struct {
	byFirst map[string][]int // rules whose every pattern starts with this literal segment
	wild    []int            // rules with a pattern that starts with a glob or a placeholder
	catalog []int            // rules that grant the catalog
}

func buildIndex(rules []Rule) *index {
	idx := &index{bySubject: map[subjectKey]*ruleSet{}}
	for i := range rules {
		r := &rules[i]
		firsts, literal := firstSegments(r.Repositories)
		for _, key := range ruleKeys(r) {
			set := idx.bySubject[key]
			if set == nil {
				set = &ruleSet{byFirst: map[string][]int{}}
				idx.bySubject[key] = set
			}
			if r.Catalog {
				set.catalog = append(set.catalog, i)
			}
			switch {
			case len(r.Repositories) == 0:
			case literal:
				for _, f := range firsts {
					set.byFirst[f] = append(set.byFirst[f], i)
				}
			default:
				set.wild = append(set.wild, i)
			}
		}
	}
	return idx
}

func ruleKeys(r *Rule) []subjectKey {
	var keys []subjectKey
	if r.Anonymous {
		keys = append(keys, subjectKey{'e', ""})
	}
	for _, a := range r.Accounts {
		keys = append(keys, subjectKey{'a', a})
	}
	for _, t := range r.Teams {
		keys = append(keys, subjectKey{'t', t})
	}
	return keys
}

// firstSegments returns the distinct first segments of the patterns, and
// whether all of them are literal, with nothing to expand or match.
func firstSegments(pats []pattern) ([]string, bool) {
	var firsts []string
	for _, p := range pats {
		f := p.segments[0]
		if strings.ContainsAny(f, `*?[\$`) {
			return nil, false
		}
		if !slices.Contains(firsts, f) {
			firsts = append(firsts, f)
		}
	}
	return firsts, true
}

// subjectKeys returns every key under which a rule applying to subj is
// filed.
func subjectKeys(subj Subject) []subjectKey {
	keys := []subjectKey{{'e', ""}}
	if subj.Anonymous() {
		return keys
	}
	keys = append(keys, subjectKey{'a', "*"}, subjectKey{'a', subj.Account})
	if len(subj.Teams) > 0 {
		keys = append(keys, subjectKey{'t', "*"})
	}
	for _, t := range subj.Teams {
		keys = append(keys, subjectKey{'t', t})
	}
	return keys
}

// candidates returns, in file order, the indices of the rules that may
// apply to subj on the resource of s.
func (idx *index) candidates(subj Subject, s Scope, parts []string) []int {
	var out []int
	for _, key := range subjectKeys(subj) {
		set := idx.bySubject[key]
		if set == nil {
			continue
		}
		switch s.Type {
		case TypeRegistry:
			out = append(out, set.catalog...)
		case TypeRepository:
			out = append(out, set.byFirst[parts[0]]...)
			out = append(out, set.wild...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
