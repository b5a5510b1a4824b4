// Package registryconf writes the configuration of a distribution registry
// that trusts regauth and checks it with the registry's own parser. The
// embedded registry of the quickstart is in the subpackage embedded.
//
// One file serves registry:2 (distribution 2.8) and registry:3 alike: it
// uses only keys both understand, and registry:2 ignores keys it does not
// know.
package registryconf
