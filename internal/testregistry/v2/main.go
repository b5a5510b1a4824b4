// Command registry2 is the upstream docker/distribution v2.8.3 registry
// (the code behind the registry:2 image) with the cloud storage drivers
// left out.
//
// The end-to-end tests run it as the real registry that trusts regauth's
// tokens. Only the filesystem and inmemory storage drivers and the token
// auth backend are linked in, so building it does not pull the Azure, GCS,
// OSS, S3 or Swift SDKs. Build it with
// "go build -o registry2 ./internal/testregistry/v2" (a plain go build names
// it after the parent folder) and run it as "registry2 serve CONFIG".
//
// NOTE(testregistry): v2.8.3 predates Go modules, so go.mod has to pin the
// old dependencies its vendor.conf used; the newest ones no longer compile
// with it. The pins are rsc.io/letsencrypt v0.0.2 (v0.0.3 deleted the
// package), github.com/xenolf/lego v0.4.1 and github.com/miekg/dns v1.0.15
// (letsencrypt's ACME client; dns v1.1 dropped ErrTruncated), and
// github.com/bshuster-repo/logrus-logstash-hook v0.4.1 (v1 renamed the
// formatter fields). Do not let "go get -u" raise them; once the v2 tests
// are dropped, this command and the pins can go.
package main

import (
	"os"

	"github.com/docker/distribution/registry"

	// Registered by name through init; the config picks them.
	_ "github.com/docker/distribution/registry/auth/token"
	_ "github.com/docker/distribution/registry/storage/driver/filesystem"
	_ "github.com/docker/distribution/registry/storage/driver/inmemory"
)

func main() {
	// Cobra prints usage errors itself and serve exits on its own when the
	// registry fails, so only the exit code is left to set here.
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
