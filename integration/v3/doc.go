// Package v3 holds the integration tests of regauth with distribution v3,
// the code behind the registry:3 image. The registry, the token server and a
// real registry client run in the test process and talk HTTPS on loopback:
// a push or a pull succeeds only if the registry's own code accepts the
// tokens regauth mints.
//
// The package has no code of its own. Its _test.go files set up the
// registry:3 code and check tokens with registry:3's own token package;
// the tests that do not depend on the registry's generation have their
// bodies in integration/internal/harness and run here against registry:3.
// It is kept apart from the registry:2 tests because both registry versions
// register the same global metrics and cannot share one test binary.
package v3
