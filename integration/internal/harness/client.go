package harness

// This file is go-containerregistry acting as the registry client: it
// follows the registry's challenge to the token server with Basic
// credentials and calls the registry with the Bearer token it gets.

import (
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
)

// Client is go-containerregistry acting for one account, or anonymously,
// for the duration of one test.
type Client struct {
	t    *testing.T
	env  *Env
	auth authn.Authenticator
	log  *requestLog
}

// Client returns a client of e's registry logging in as a, or anonymous
// when a is nil. It lives as long as t.
func (e *Env) Client(t *testing.T, a *Account) *Client {
	c := &Client{t: t, env: e, auth: authn.Anonymous, log: &requestLog{inner: e.transport}}
	if a != nil {
		c.auth = &authn.Basic{Username: a.Name, Password: a.Password}
	}
	return c
}

func (c *Client) options() []remote.Option {
	return []remote.Option{
		remote.WithAuth(c.auth),
		remote.WithTransport(c.log),
		remote.WithContext(c.t.Context()),
	}
}

func (c *Client) tag(repo string) (name.Tag, error) {
	return name.NewTag(c.env.registry.RegistryStr()+"/"+repo+":v1", name.StrictValidation)
}

// push writes img to repo:v1.
func (c *Client) push(repo string, img v1.Image) error {
	ref, err := c.tag(repo)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, c.options()...)
}

// PushRandom pushes a new random image to repo:v1 and returns its digest.
// It is for setting up a test, so any error fails t.
func (c *Client) PushRandom(t *testing.T, repo string) v1.Hash {
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
func (c *Client) image(repo string) (v1.Image, error) {
	ref, err := c.tag(repo)
	if err != nil {
		return nil, err
	}
	return remote.Image(ref, c.options()...)
}

// pullDigest fetches repo:v1 with all its blobs and fails unless the
// manifest digest is want. Reading a blob checks its digest.
func (c *Client) pullDigest(repo string, want v1.Hash) error {
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
