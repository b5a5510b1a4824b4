package acl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Subject is who a request is from: an account and its teams, or nobody.
type Subject struct {
	Account string   // empty for an anonymous request
	Teams   []string // teams the account belongs to
}

// Anonymous reports whether the subject presented no credentials.
func (s Subject) Anonymous() bool { return s.Account == "" }

// Rule is one entry of acl.yaml.
type Rule struct {
	// Line is where the rule starts in its file, for messages and for
	// explaining a decision.
	Line int

	Accounts  []string // account names; "*" is any authenticated account
	Teams     []string // team names; "*" is any team
	Anonymous bool     // matches every request, with or without credentials

	Repositories []pattern
	Catalog      bool // grants registry:catalog:*
	Actions      Actions
	Deny         bool
}

// ruleYAML is the file form of a Rule.
type ruleYAML struct {
	Accounts     []string `yaml:"accounts"`
	Teams        []string `yaml:"teams"`
	Anonymous    bool     `yaml:"anonymous"`
	Repositories []string `yaml:"repositories"`
	Catalog      bool     `yaml:"catalog"`
	Actions      []string `yaml:"actions"`
	Deny         bool     `yaml:"deny"`
	Comment      string   `yaml:"comment"`
}

// Policy is an ordered list of rules. Order does not change a decision:
// denies always win over allows.
type Policy struct {
	Rules []Rule
	idx   *index
}

// ErrInvalidPolicy is wrapped by every error of Parse.
var ErrInvalidPolicy = errors.New("invalid rules")

// Parse reads a policy in the acl.yaml format. An error names the line of
// the offending rule. Warnings are rules that load but are probably not
// what was meant, such as push without pull, which docker cannot use.
func Parse(data []byte) (p *Policy, warnings []string, err error) {
	var doc struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}

	p = &Policy{Rules: make([]Rule, 0, len(doc.Rules))}
	for i := range doc.Rules {
		node := &doc.Rules[i]
		r, warn, err := parseRule(node)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, locate(err, node.Line))
		}
		if warn != "" {
			warnings = append(warnings, fmt.Sprintf("line %d: %s", node.Line, warn))
		}
		p.Rules = append(p.Rules, r)
	}
	p.idx = buildIndex(p.Rules)
	return p, warnings, nil
}

func parseRule(node *yaml.Node) (Rule, string, error) {
	if err := checkFields(node, map[*yaml.Node]bool{}); err != nil {
		return Rule{}, "", err
	}
	var ry ruleYAML
	if err := node.Decode(&ry); err != nil {
		return Rule{}, "", err
	}
	r := Rule{
		Line:      node.Line,
		Accounts:  ry.Accounts,
		Teams:     ry.Teams,
		Anonymous: ry.Anonymous,
		Catalog:   ry.Catalog,
		Deny:      ry.Deny,
	}
	if len(r.Accounts) == 0 && len(r.Teams) == 0 && !r.Anonymous {
		return Rule{}, "", errors.New("rule names nobody: set accounts, teams or anonymous")
	}
	if slices.Contains(r.Accounts, "") || slices.Contains(r.Teams, "") {
		return Rule{}, "", errors.New("empty account or team name")
	}
	if len(ry.Repositories) == 0 && !r.Catalog {
		return Rule{}, "", errors.New("rule covers nothing: set repositories or catalog")
	}
	for i, raw := range ry.Repositories {
		pat, err := compilePattern(raw)
		if err != nil {
			return Rule{}, "", &lineError{itemLine(node, "repositories", i), err}
		}
		r.Repositories = append(r.Repositories, pat)
	}
	if len(ry.Repositories) > 0 && len(ry.Actions) == 0 {
		return Rule{}, "", errors.New("rule with repositories needs actions")
	}
	for i, name := range ry.Actions {
		a, ok := ParseAction(name)
		if !ok {
			return Rule{}, "", &lineError{itemLine(node, "actions", i),
				fmt.Errorf("unknown action %q (want pull, push, delete or *)", name)}
		}
		r.Actions |= a
	}

	var warn string
	if !r.Deny && r.Actions&Push != 0 && r.Actions&Pull == 0 {
		warn = "push without pull: docker push also needs pull on the repository"
	}
	return r, warn, nil
}

// lineError is an error about one line within a rule.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }

// locate prefixes err with its line: the line of the item at fault where
// it is known, naming the rule's first line too, else the rule's line.
func locate(err error, ruleLine int) error {
	var le *lineError
	if errors.As(err, &le) && le.line != 0 && le.line != ruleLine {
		return fmt.Errorf("line %d (in the rule at line %d): %v", le.line, ruleLine, le.err)
	}
	return fmt.Errorf("line %d: %v", ruleLine, err)
}

// itemLine returns the line of the i-th item of the list under key in a
// rule, or 0 when the rule is not shaped that way (merge keys, say).
func itemLine(rule *yaml.Node, key string, i int) int {
	for j := 0; j+1 < len(rule.Content); j += 2 {
		if rule.Content[j].Value != key {
			continue
		}
		if list := rule.Content[j+1]; list.Kind == yaml.SequenceNode && i < len(list.Content) {
			return list.Content[i].Line
		}
		return rule.Content[j].Line
	}
	return 0
}

// ruleFields are the keys a rule may have: the yaml tags of ruleYAML.
var ruleFields = map[string]bool{
	"accounts": true, "teams": true, "anonymous": true, "repositories": true,
	"catalog": true, "actions": true, "deny": true, "comment": true,
}

// checkFields refuses a rule with a key ruleYAML does not have. The
// decoder's KnownFields does not reach yaml.Node.Decode, and a dropped key
// is dangerous here: a misspelt "deny" would load a deny rule as an allow.
// Merge keys ("<<") are followed into the mappings they merge, each once,
// as an anchor may hold an alias of itself.
func checkFields(node *yaml.Node, seen map[*yaml.Node]bool) error {
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if node.Kind != yaml.MappingNode || seen[node] {
		return nil // Decode reports a wrong kind or a loop
	}
	seen[node] = true
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, val := node.Content[i], node.Content[i+1]
		if key.Value != "<<" {
			if !ruleFields[key.Value] {
				return fmt.Errorf("unknown field %q on line %d", key.Value, key.Line)
			}
			continue
		}
		merged := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			merged = val.Content
		}
		for _, m := range merged {
			if err := checkFields(m, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// matchesSubject reports whether the rule applies to subj.
func (r *Rule) matchesSubject(subj Subject) bool {
	if r.Anonymous {
		return true
	}
	if subj.Anonymous() {
		return false
	}
	for _, a := range r.Accounts {
		if a == "*" || a == subj.Account {
			return true
		}
	}
	for _, t := range r.Teams {
		if (t == "*" && len(subj.Teams) > 0) || slices.Contains(subj.Teams, t) {
			return true
		}
	}
	return false
}

// covers returns the actions the rule names for the resource of s, whose
// name split at "/" is parts.
func (r *Rule) covers(subj Subject, s Scope, parts []string) Actions {
	switch s.Type {
	case TypeRegistry:
		if r.Catalog && s.Name == CatalogName {
			return All
		}
	case TypeRepository:
		for _, pat := range r.Repositories {
			if pat.matchParts(subj, parts) {
				return r.Actions
			}
		}
	}
	return 0
}
