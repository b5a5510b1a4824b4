package users

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary double as a second process for the tests of
// concurrent writers, and stops the redis-server the tests may have started.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := runHelperProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "helper process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}

	code := m.Run()
	sharedRedis.Stop()
	os.Exit(code)
}
