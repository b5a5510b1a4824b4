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

// NOTE: Decide scans every rule for every scope. That is linear in the
// number of rules, and with 10,000 rules it costs a few times the token
// signature (docs/performance.md), most of it in matchesSubject touching
// every rule. Indexing the rules by the account and team they name, with
// the anonymous and "*" rules in lists of their own, would leave a scope
// only the rules that can apply to its subject; a second index by the
// literal first segment of the repository pattern would thin out the
// anonymous ones.
func (p *Policy) decide(subj Subject, s Scope) Decision {
	d := Decision{Scope: s}
	parts := strings.Split(s.Name, "/")
	var allowed, denied Actions
	for i := range p.Rules {
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
