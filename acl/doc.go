// Package acl decides what a subject may do with a registry resource.
//
// A Policy is a list of rules loaded from acl.yaml. For each scope a client
// asks for, the grant is the union of the actions of every allow rule that
// matches the subject and the resource, minus the actions of every matching
// deny rule, intersected with the actions asked. The package knows nothing
// of where accounts live or how requests arrive: callers hand it a Subject
// and parsed Scopes.
package acl
