// Package harness is the part of the registry integration tests that does
// not depend on the registry's generation: the PKI, the accounts and rules,
// the token server, a go-containerregistry client, and the test bodies that
// run the same against registry:2 and registry:3.
//
// The tests themselves live in integration/v2 and integration/v3. Each of
// those packages supplies a RegistryFunc that builds its generation's
// registry, and checks tokens with its generation's token package; the two
// cannot share a test binary, because both registries register the same
// global metrics and HTTP routes. This package imports no registry code,
// so that either can link it. Everything here serves on loopback only.
//
// Only the integration tests import this package; it is not part of
// regauth.
package harness
