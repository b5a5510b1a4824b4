// Package v2 holds the integration tests of regauth with docker/distribution
// v2.8.3, the code behind the registry:2 image. The registry, the token
// server and a real registry client run in the test process and talk HTTPS
// on loopback: a push or a pull succeeds only if the registry's own code
// accepts the tokens regauth mints.
//
// registry:2 is stricter than registry:3 in one way that matters here: it
// parses the aud claim as a single string and rejects a token whose aud is
// a list. These tests are what holds regauth to the single string.
//
// The package has no code of its own. Its _test.go files set up the
// registry:2 code and check tokens with registry:2's own token package;
// the tests that do not depend on the registry's generation have their
// bodies in integration/internal/harness and run here against registry:2.
// It is kept apart from the registry:3 tests because both registry versions
// register the same global metrics and cannot share one test binary.
package v2
