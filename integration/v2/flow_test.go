package v2_test

// This file drives go-containerregistry through the whole token flow: the
// registry's challenge, the token request with Basic credentials, and the
// registry calls with the Bearer token it got.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
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

// TestFlows pushes, pulls, deletes, lists and mounts as different accounts
// and checks that each succeeds, or fails where and how the rules say.
// Admin seeds the repositories the cases read; the cases run in order on
// one registry, so a case that wrongly succeeds may also fail later ones.
func TestFlows(t *testing.T) {
	e := newEnv(t)
	seeded := map[string]v1.Hash{}
	for _, repo := range []string{"alice/app", "public/hello", "dev/frozen/base"} {
		seeded[repo] = e.client(t, &admin).pushRandom(t, repo)
	}

	tests := []struct {
		name string
		as   *account // nil for an anonymous client
		do   func(c *client) error
		want refusal
	}{
		{name: "owner pushes and pulls", as: &alice, do: pushPull("alice/new")},
		{name: "owner pulls what admin pushed", as: &alice, do: pull("alice/app", seeded)},
		{name: "pull-only account pulls", as: &bob, do: pull("alice/app", seeded)},
		{
			name: "pull-only account cannot push",
			as:   &bob, do: push("alice/app"), want: deniedByRegistry,
		},
		{
			name: "account cannot pull another account's repository",
			as:   &carol, do: pull("alice/app", seeded), want: deniedByRegistry,
		},
		{name: "anonymous pulls a public repository", do: pull("public/hello", seeded)},
		{name: "anonymous cannot push", do: push("public/hello"), want: deniedByRegistry},
		{
			name: "anonymous cannot pull a private repository",
			do:   pull("alice/app", seeded), want: deniedByRegistry,
		},
		{
			name: "wrong password is refused by the token server",
			as:   &account{name: alice.name, password: "not-" + alice.password},
			do:   pull("public/hello", seeded), want: refusedByTokenServer,
		},
		{
			name: "unknown account is refused by the token server",
			as:   &account{name: "mallory", password: "mallory-password"},
			do:   pull("public/hello", seeded), want: refusedByTokenServer,
		},
		{name: "team member pushes to the team's repository", as: &carol, do: pushPull("dev/app")},
		{
			name: "deny rule removes push",
			as:   &carol, do: push("dev/frozen/base"), want: deniedByRegistry,
		},
		{name: "deny rule leaves pull", as: &carol, do: pull("dev/frozen/base", seeded)},
		{name: "admin deletes a manifest", as: &admin, do: pushDelete("admin/trash")},
		{
			name: "owner cannot delete without the delete action",
			as:   &alice, do: pushDelete("alice/trash"), want: deniedByRegistry,
		},
		{name: "admin lists the catalog", as: &admin, do: catalog(seeded)},
		{name: "catalog refused to an account", as: &alice, do: catalog(seeded), want: deniedByRegistry},
		{name: "catalog refused to anonymous", do: catalog(seeded), want: deniedByRegistry},
		{
			name: "blob mounted across repositories",
			as:   &alice, do: mount("alice/app", "alice/copy", true),
		},
		{
			name: "mount without pull on the source uploads instead",
			as:   &carol, do: mount("alice/app", "dev/copy", false),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t, tc.as)
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

// client is go-containerregistry acting for one account, or anonymously,
// for the duration of one test.
type client struct {
	t    *testing.T
	env  *env
	auth authn.Authenticator
	log  *requestLog
}

// client returns a client logging in as a, or anonymous when a is nil.
func (e *env) client(t *testing.T, a *account) *client {
	c := &client{t: t, env: e, auth: authn.Anonymous, log: &requestLog{inner: e.transport}}
	if a != nil {
		c.auth = &authn.Basic{Username: a.name, Password: a.password}
	}
	return c
}

func (c *client) options() []remote.Option {
	return []remote.Option{
		remote.WithAuth(c.auth),
		remote.WithTransport(c.log),
		remote.WithContext(c.t.Context()),
	}
}

func (c *client) tag(repo string) (name.Tag, error) {
	return name.NewTag(c.env.registry.RegistryStr()+"/"+repo+":v1", name.StrictValidation)
}

// push writes img to repo:v1.
func (c *client) push(repo string, img v1.Image) error {
	ref, err := c.tag(repo)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, c.options()...)
}

// pushRandom pushes a new random image to repo and returns its digest; it
// is for setting up a test, so any error fails it.
func (c *client) pushRandom(t *testing.T, repo string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.push(repo, img); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// image returns repo:v1 as the registry serves it. Blobs are fetched when
// read.
func (c *client) image(repo string) (v1.Image, error) {
	ref, err := c.tag(repo)
	if err != nil {
		return nil, err
	}
	return remote.Image(ref, c.options()...)
}

// pullDigest fetches repo:v1 with all its blobs and fails unless the
// manifest digest is want. Reading a blob checks its digest.
func (c *client) pullDigest(repo string, want v1.Hash) error {
	img, err := c.image(repo)
	if err != nil {
		return err
	}
	got, err := img.Digest()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("pulled %s@%s, want %s", repo, got, want)
	}
	if _, err := img.RawConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// The operations a test case runs.

func push(repo string) func(*client) error {
	return func(c *client) error {
		img, err := random.Image(512, 1)
		if err != nil {
			return err
		}
		return c.push(repo, img)
	}
}

func pull(repo string, seeded map[string]v1.Hash) func(*client) error {
	return func(c *client) error { return c.pullDigest(repo, seeded[repo]) }
}

func pushPull(repo string) func(*client) error {
	return func(c *client) error {
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
func pushDelete(repo string) func(*client) error {
	return func(c *client) error {
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
func catalog(seeded map[string]v1.Hash) func(*client) error {
	return func(c *client) error {
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

// mount copies from:v1, read with alice's rights, to to:v1 with the
// client's. The client asks one token for both repositories and tries to
// mount each blob; the registry mounts only with pull on the source, and
// the client otherwise uploads the blob. wantMounted says which must
// happen for every blob.
func mount(from, to string, wantMounted bool) func(*client) error {
	return func(c *client) error {
		src, err := c.env.client(c.t, &alice).image(from)
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

// requestLog is a RoundTripper that records every exchange, so that a test
// can tell where a refusal came from and whether a blob was mounted.
type requestLog struct {
	inner http.RoundTripper

	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	method    string
	url       *url.URL
	status    int
	challenge string // WWW-Authenticate of the response
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.inner.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exchanges = append(l.exchanges, exchange{
		method:    r.Method,
		url:       r.URL,
		status:    resp.StatusCode,
		challenge: resp.Header.Get("WWW-Authenticate"),
	})
	return resp, nil
}

// lastChallenge returns the last Bearer challenge the registry sent.
func (l *requestLog) lastChallenge() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.exchanges) - 1; i >= 0; i-- {
		if c := l.exchanges[i].challenge; strings.HasPrefix(c, "Bearer ") {
			return c
		}
	}
	return ""
}

// count returns how many requests of method to a path under prefix got
// status.
func (l *requestLog) count(method, prefix string, status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.exchanges {
		if x.method == method && strings.HasPrefix(x.url.Path, prefix) && x.status == status {
			n++
		}
	}
	return n
}

// askedTogether reports whether one token request asked for all scopes.
func (l *requestLog) askedTogether(scopes ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.exchanges {
		if x.url.Path != atTokenServer {
			continue
		}
		asked := strings.Fields(strings.Join(x.url.Query()["scope"], " "))
		if !slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(asked, s) }) {
			return true
		}
	}
	return false
}
