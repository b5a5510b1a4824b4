package acl

import "strings"

// Actions is a set of registry actions.
type Actions uint8

// The actions a registry checks. All is what "*" means in a rule or a
// request; the registry itself grants any action to a token listing "*".
const (
	Pull Actions = 1 << iota
	Push
	Delete

	All = Pull | Push | Delete
)

var actionNames = []struct {
	a    Actions
	name string
}{{Pull, "pull"}, {Push, "push"}, {Delete, "delete"}}

// ParseAction returns the set that one action name stands for, and false
// for a name the registry does not know.
func ParseAction(name string) (Actions, bool) {
	if name == "*" {
		return All, true
	}
	for _, an := range actionNames {
		if an.name == name {
			return an.a, true
		}
	}
	return 0, false
}

// ParseActions parses a comma-separated action list, ignoring unknown and
// empty names: a token never grants an action regauth cannot reason about.
func ParseActions(list string) Actions {
	var set Actions
	for name := range strings.SplitSeq(list, ",") {
		a, _ := ParseAction(strings.TrimSpace(name))
		set |= a
	}
	return set
}

// Names returns the action names in a fixed order. A full set is written
// as the three names, not "*", so the token says exactly what was decided.
func (a Actions) Names() []string {
	names := make([]string, 0, 3)
	for _, an := range actionNames {
		if a&an.a != 0 {
			names = append(names, an.name)
		}
	}
	return names
}

// String returns the actions comma-separated.
func (a Actions) String() string { return strings.Join(a.Names(), ",") }
