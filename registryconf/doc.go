// Package registryconf writes the configuration of a distribution registry
// that trusts regauth, checks it with the registry's own parser, and runs an
// embedded registry for the all-in-one quickstart.
//
// One file serves registry:2 (distribution 2.8) and registry:3 alike: it
// uses only keys both understand, and registry:2 ignores keys it does not
// know.
package registryconf
