package deploy_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// layerSize is above nginx's default client_max_body_size (1 MiB), so the
// push fails unless /v2/ lifts the limit.
const layerSize = 3<<20 + 17

// pushThroughNginx pushes a one-layer image to testRepo through nginx with
// an access token from regauth, the way a registry client does, and pulls
// it back: the challenge names nginx's realm, upload URLs name nginx, the
// layer goes up in one chunked PATCH of unknown length.
func pushThroughNginx(t *testing.T, fe *frontEnd, token string) {
	t.Helper()
	reg := &registryClient{t: t, c: fe.client, base: fe.base, token: token}

	resp := reg.do(http.MethodGet, fe.base+"/v2/", nil, "", false)
	drain(resp)
	challenge := resp.Header.Get("WWW-Authenticate")
	wantRealm := `realm="` + fe.base + `/token"`
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, wantRealm) {
		t.Fatalf("GET /v2/ without a token: %d %q; want 401 with the realm at nginx",
			resp.StatusCode, challenge)
	}

	layer := make([]byte, layerSize)
	if _, err := rand.Read(layer); err != nil {
		t.Fatal(err)
	}
	layerDigest := reg.pushChunked(layer)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	configDigest := reg.pushMonolithic(config)

	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest":    configDigest, "size": len(config),
		},
		"layers": []map[string]any{{
			"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
			"digest":    layerDigest, "size": len(layer),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp = reg.do(http.MethodPut, fe.base+"/v2/"+testRepo+"/manifests/v1", bytes.NewReader(manifest),
		"application/vnd.oci.image.manifest.v1+json", true)
	reg.expect(resp, http.StatusCreated, "PUT manifest")

	resp = reg.do(http.MethodGet, fe.base+"/v2/"+testRepo+"/blobs/"+layerDigest, nil, "", true)
	defer drain(resp)
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, layer) {
		t.Fatalf("GET the layer back through nginx: status %d, %d bytes of %d, %v",
			resp.StatusCode, len(got), len(layer), err)
	}
}

// registryClient speaks the registry API with one bearer token.
type registryClient struct {
	t     *testing.T
	c     *http.Client
	base  string
	token string
}

func (r *registryClient) do(method, u string, body io.Reader, contentType string,
	auth bool) *http.Response {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), method, u, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp
}

// expect checks a status and drains the answer.
func (r *registryClient) expect(resp *http.Response, status int, what string) {
	r.t.Helper()
	defer drain(resp)
	if resp.StatusCode != status {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		r.t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, body)
	}
}

// location returns the upload URL of an answer, which must point at nginx:
// the registry builds it from the Host and X-Forwarded-Proto nginx sends.
func (r *registryClient) location(resp *http.Response, what string) *url.URL {
	r.t.Helper()
	loc, err := resp.Location()
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	if base, _ := url.Parse(r.base); loc.Scheme != base.Scheme || loc.Host != base.Host {
		r.t.Fatalf("%s: upload URL %s does not point at nginx (%s)", what, loc, r.base)
	}
	return loc
}

// pushChunked uploads a blob in one PATCH whose length is not announced,
// so it travels chunked through nginx, then commits it with a PUT.
func (r *registryClient) pushChunked(blob []byte) string {
	r.t.Helper()
	resp := r.do(http.MethodPost, r.base+"/v2/"+testRepo+"/blobs/uploads/", nil, "", true)
	r.expect(resp, http.StatusAccepted, "start upload")
	loc := r.location(resp, "start upload")

	// A reader of unknown length makes net/http send the body chunked.
	body := struct{ io.Reader }{bytes.NewReader(blob)}
	resp = r.do(http.MethodPatch, loc.String(), body, "application/octet-stream", true)
	r.expect(resp, http.StatusAccepted, "PATCH layer")
	loc = r.location(resp, "PATCH layer")

	digest := digestOf(blob)
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	resp = r.do(http.MethodPut, loc.String(), nil, "", true)
	r.expect(resp, http.StatusCreated, "commit layer")
	return digest
}

// pushMonolithic uploads a blob in the PUT that closes the upload, as
// clients do with small blobs.
func (r *registryClient) pushMonolithic(blob []byte) string {
	r.t.Helper()
	resp := r.do(http.MethodPost, r.base+"/v2/"+testRepo+"/blobs/uploads/", nil, "", true)
	r.expect(resp, http.StatusAccepted, "start upload")
	loc := r.location(resp, "start upload")

	digest := digestOf(blob)
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	resp = r.do(http.MethodPut, loc.String(), bytes.NewReader(blob), "application/octet-stream", true)
	r.expect(resp, http.StatusCreated, "monolithic upload")
	return digest
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
