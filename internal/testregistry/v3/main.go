// Command registry3 is the upstream distribution v3 registry (the code
// behind the registry:3 image) with the cloud storage drivers left out.
//
// The end-to-end tests run it as the real registry that trusts regauth's
// tokens. Only the filesystem and inmemory storage drivers and the token
// auth backend are linked in, so building it does not pull the Azure, GCS
// or S3 SDKs. Build it with "go build -o registry3 ./internal/testregistry/v3"
// (a plain go build names it after the parent folder) and run it as
// "registry3 serve CONFIG", with OTEL_TRACES_EXPORTER=none: otherwise v3
// tries to export traces over the network.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"

	// Registered by name through init; the config picks them.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	// Cobra prints usage errors itself and serve exits on its own when the
	// registry fails, so only the exit code is left to set here.
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
