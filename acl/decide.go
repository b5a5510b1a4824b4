package acl

import "strings"

// Decision is the outcome for one scope.
type Decision struct {
	Scope   Scope   // what was asked
	Granted Actions // what the token carries: allowed, not denied, asked
	// AllowedBy and DeniedBy are the rules that matched the subject and the
	// resource, for explaining the decision.
	AllowedBy []*Rule
	DeniedBy  []*Rule
}

// WireActions returns the granted actions as the token lists them. The
// registry asks "*" on the catalog, so a granted catalog is written "*".
func (d Decision) WireActions() []string {
	if d.Scope.Type == TypeRegistry && d.Granted == All {
		return []string{"*"}
	}
	return d.Granted.Names()
}

// Decide returns the decision for each scope, in order.
func (p *Policy) Decide(subj Subject, scopes []Scope) []Decision {
	out := make([]Decision, len(scopes))
	for i, s := range scopes {
		out[i] = p.decide(subj, s)
	}
	return out
}

func (p *Policy) decide(subj Subject, s Scope) Decision {
	d := Decision{Scope: s}
	parts := strings.Split(s.Name, "/")
	var allowed, denied Actions
	for _, i := range p.candidates(subj, s, parts) {
		r := &p.Rules[i]
		if !r.matchesSubject(subj) {
			continue
		}
		a := r.covers(subj, s, parts)
		if a == 0 {
			continue
		}
		if r.Deny {
			denied |= a
			d.DeniedBy = append(d.DeniedBy, r)
		} else {
			allowed |= a
			d.AllowedBy = append(d.AllowedBy, r)
		}
	}
	d.Granted = allowed &^ denied & s.Actions
	return d
}

// candidates returns the indices of the rules that may apply. A Policy made
// by Parse has an index; one built by hand is scanned whole.
func (p *Policy) candidates(subj Subject, s Scope, parts []string) []int {
	if p.idx == nil {
		all := make([]int, len(p.Rules))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return p.idx.candidates(subj, s, parts)
}
