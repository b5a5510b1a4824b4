package harness

// This file drives the client through the whole token flow as different
// accounts and checks each outcome against Rules.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Where a refusal comes from, told apart by the path of the refused request.
const (
	atTokenServer = "/token"
	atRegistry    = "/v2/"
)

// refusal is how an operation is expected to fail; the zero value means it
// must succeed.
type refusal struct {
	status int    // HTTP status of the refused request
	at     string // atTokenServer or atRegistry
}

var (
	// deniedByRegistry is a valid token that lacks an action: the registry
	// answers 401 with error="insufficient_scope".
	deniedByRegistry = refusal{http.StatusUnauthorized, atRegistry}
	// refusedByTokenServer is a login that failed: no token at all.
	refusedByTokenServer = refusal{http.StatusUnauthorized, atTokenServer}
)

// RunFlows pushes, pulls, deletes, lists and mounts as different accounts
// on the registry newRegistry returns, one subtest per case, and checks
// that each succeeds, or fails where and how Rules say. Admin seeds the
// repositories the cases read; the cases run in order on one registry, so
// a case that wrongly succeeds may also fail later ones.
func RunFlows(t *testing.T, newRegistry RegistryFunc) {
	e := NewEnv(t, newRegistry)
	seeded := map[string]v1.Hash{}
	for _, repo := range []string{"alice/app", "public/hello", "dev/frozen/base"} {
		seeded[repo] = e.Client(t, &Admin).PushRandom(t, repo)
	}

	tests := []struct {
		name string
		as   *Account // nil for an anonymous client
		do   func(c *Client) error
		want refusal
	}{
		{name: "owner pushes and pulls", as: &Alice, do: pushPull("alice/new")},
		{name: "owner pulls what admin pushed", as: &Alice, do: pull("alice/app", seeded)},
		{name: "pull-only account pulls", as: &Bob, do: pull("alice/app", seeded)},
		{
			name: "pull-only account cannot push",
			as:   &Bob, do: push("alice/app"), want: deniedByRegistry,
		},
		{
			name: "account cannot pull another account's repository",
			as:   &Carol, do: pull("alice/app", seeded), want: deniedByRegistry,
		},
		{name: "anonymous pulls a public repository", do: pull("public/hello", seeded)},
		{name: "anonymous cannot push", do: push("public/hello"), want: deniedByRegistry},
		{
			name: "anonymous cannot pull a private repository",
			do:   pull("alice/app", seeded), want: deniedByRegistry,
		},
		{
			name: "wrong password is refused by the token server",
			as:   &Account{Name: Alice.Name, Password: "not-" + Alice.Password},
			do:   pull("public/hello", seeded), want: refusedByTokenServer,
		},
		{
			name: "unknown account is refused by the token server",
			as:   &Account{Name: "mallory", Password: "mallory-password"},
			do:   pull("public/hello", seeded), want: refusedByTokenServer,
		},
		{
			name: "team member pushes to the team's repository",
			as:   &Carol, do: pushPull("dev/app"),
		},
		{
			name: "deny rule removes push",
			as:   &Carol, do: push("dev/frozen/base"), want: deniedByRegistry,
		},
		{name: "deny rule leaves pull", as: &Carol, do: pull("dev/frozen/base", seeded)},
		{name: "admin deletes a manifest", as: &Admin, do: pushDelete("admin/trash")},
		{
			name: "owner cannot delete without the delete action",
			as:   &Alice, do: pushDelete("alice/trash"), want: deniedByRegistry,
		},
		{name: "admin lists the catalog", as: &Admin, do: catalog(seeded)},
		{
			name: "catalog refused to an account",
			as:   &Alice, do: catalog(seeded), want: deniedByRegistry,
		},
		{name: "catalog refused to anonymous", do: catalog(seeded), want: deniedByRegistry},
		{
			name: "blob mounted across repositories",
			as:   &Alice, do: mount("alice/app", "alice/copy", true),
		},
		{
			name: "mount without pull on the source uploads instead",
			as:   &Carol, do: mount("alice/app", "dev/copy", false),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.Client(t, tc.as)
			err := tc.do(c)
			checkRefusal(t, err, tc.want, c.log)
		})
	}
}

// checkRefusal fails the test unless err is the refusal want, or nil when
// want is the zero value.
func checkRefusal(t *testing.T, err error, want refusal, log *requestLog) {
	t.Helper()
	if want == (refusal{}) {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}

	var terr *transport.Error
	if !errors.As(err, &terr) {
		t.Fatalf("got error %v (%T), want a registry protocol error", err, err)
	}
	path := ""
	if terr.Request != nil {
		path = terr.Request.URL.Path
	}
	if terr.StatusCode != want.status || !strings.HasPrefix(path, want.at) {
		t.Fatalf("got status %d from %q, want %d from %s...: %v",
			terr.StatusCode, path, want.status, want.at, err)
	}
	if !hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode) {
		t.Errorf("error codes %v, want UNAUTHORIZED or DENIED", terr.Errors)
	}
	// A registry refusal must be for a valid token lacking access; an
	// invalid token would mean the registry rejects regauth's tokens.
	if want.at == atRegistry {
		if c := log.lastChallenge(); !strings.Contains(c, `error="insufficient_scope"`) {
			t.Errorf("last challenge %q, want insufficient_scope", c)
		}
	}
}

func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		if slices.Contains(codes, d.Code) {
			return true
		}
	}
	return false
}

// The operations a test case runs.

func push(repo string) func(*Client) error {
	return func(c *Client) error {
		img, err := random.Image(512, 1)
		if err != nil {
			return err
		}
		return c.push(repo, img)
	}
}

func pull(repo string, seeded map[string]v1.Hash) func(*Client) error {
	return func(c *Client) error { return c.pullDigest(repo, seeded[repo]) }
}

func pushPull(repo string) func(*Client) error {
	return func(c *Client) error {
		img, err := random.Image(512, 2)
		if err != nil {
			return err
		}
		if err := c.push(repo, img); err != nil {
			return err
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		return c.pullDigest(repo, digest)
	}
}

// pushDelete pushes an image to repo, deletes its manifest by digest and
// checks that the registry no longer has it.
func pushDelete(repo string) func(*Client) error {
	return func(c *Client) error {
		img, err := random.Image(512, 1)
		if err != nil {
			return err
		}
		if err := c.push(repo, img); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		ref, err := name.NewDigest(c.env.registry.RegistryStr()+"/"+repo+"@"+digest.String(),
			name.StrictValidation)
		if err != nil {
			return err
		}
		if err := remote.Delete(ref, c.options()...); err != nil {
			return err
		}

		_, err = remote.Head(ref, c.options()...)
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
			return fmt.Errorf("HEAD after delete: %v, want 404", err)
		}
		return nil
	}
}

// catalog lists the repositories and fails unless every seeded one is in
// the list.
func catalog(seeded map[string]v1.Hash) func(*Client) error {
	return func(c *Client) error {
		repos, err := remote.Catalog(c.t.Context(), c.env.registry, c.options()...)
		if err != nil {
			return err
		}
		for repo := range seeded {
			if !slices.Contains(repos, repo) {
				return fmt.Errorf("catalog %q lacks %s", repos, repo)
			}
		}
		return nil
	}
}

// mount copies from:v1, read with Alice's rights, to to:v1 with the
// client's. The client asks one token for both repositories and tries to
// mount each blob; the registry mounts only with pull on the source, and
// the client otherwise uploads the blob. wantMounted says which must
// happen for every blob.
func mount(from, to string, wantMounted bool) func(*Client) error {
	return func(c *Client) error {
		src, err := c.env.Client(c.t, &Alice).image(from)
		if err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		layers, err := src.Layers()
		if err != nil {
			return err
		}
		blobs := len(layers) + 1 // and the config
		if err := c.push(to, src); err != nil {
			return err
		}

		if !c.log.askedTogether("repository:"+to+":push,pull", "repository:"+from+":pull") {
			return errors.New("no token request asked for both repositories")
		}
		uploads := "/v2/" + to + "/blobs/uploads/"
		mounted := c.log.count(http.MethodPost, uploads, http.StatusCreated)
		uploaded := c.log.count(http.MethodPut, uploads, http.StatusCreated)
		wantM, wantU := blobs, 0
		if !wantMounted {
			wantM, wantU = 0, blobs
		}
		if mounted != wantM || uploaded != wantU {
			return fmt.Errorf("%d blobs mounted and %d uploaded, want %d and %d",
				mounted, uploaded, wantM, wantU)
		}

		digest, err := src.Digest()
		if err != nil {
			return err
		}
		return c.pullDigest(to, digest)
	}
}
