// Package v3 holds the integration tests of regauth with distribution v3,
// the code behind the registry:3 image. The registry, the token server and a
// real registry client run in the test process and talk HTTPS on loopback:
// a push or a pull succeeds only if the registry's own code accepts the
// tokens regauth mints.
//
// The package has no code of its own; the tests are in its _test.go files.
// It is kept apart from the registry:2 tests because both registry versions
// register the same global metrics and cannot share one test binary.
package v3
