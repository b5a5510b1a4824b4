package v2_test

// The tests in this file are the same for registry:2 and registry:3; their
// bodies are in package harness, and only the registry differs.

import (
	"testing"

	"github.com/regauth/regauth/integration/internal/harness"
)

// TestFlows pushes, pulls, deletes, lists and mounts as different accounts
// and checks that each succeeds, or fails where and how the rules say.
func TestFlows(t *testing.T) { harness.RunFlows(t, newRegistry) }

// TestRotationWhileServing replaces the signing key while clients keep
// asking for tokens and using them; the registry must accept both keys.
func TestRotationWhileServing(t *testing.T) { harness.RunRotation(t, newRegistry) }

// TestRegistryChecksTokens sends tokens minted by hand straight to the
// registry: the one regauth would mint is accepted, each flaw refused.
func TestRegistryChecksTokens(t *testing.T) { harness.RunTokenChecks(t, newRegistry) }
