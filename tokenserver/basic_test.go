package tokenserver

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name         string
		header       string
		wantUser     string
		wantPassword string
		wantErr      error
	}{
		{"valid", basicHeader("alice", "s3cret"), "alice", "s3cret", nil},
		{"colon in password", basicHeader("alice", "a:b::c:"), "alice", "a:b::c:", nil},
		{"empty password", basicHeader("alice", ""), "alice", "", nil},
		{"lower-case scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")),
			"alice", "pw", nil},
		{"upper-case scheme", "BASIC " + base64.StdEncoding.EncodeToString([]byte("alice:pw")),
			"alice", "pw", nil},
		{"blanks around the credentials", "Basic  " + base64.StdEncoding.EncodeToString(
			[]byte("alice:pw")) + " ", "alice", "pw", nil},
		{"UTF-8 names", basicHeader("zoë", "pässwörd"), "zoë", "pässwörd", nil},

		{"no header", "", "", "", errNoCredentials},
		{"empty user", basicHeader("", "pw"), "", "", errBadCredentials},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")),
			"", "", errBadCredentials},
		{"bearer scheme", "Bearer abc.def.ghi", "", "", errBadCredentials},
		{"scheme alone", "Basic", "", "", errBadCredentials},
		{"scheme and blank", "Basic ", "", "", errBadCredentials},
		{"bad base64", "Basic !!!not-base64!!!", "", "", errBadCredentials},
		{"URL-safe base64", "Basic " + base64.URLEncoding.EncodeToString([]byte("a:~~~>>>")),
			"", "", errBadCredentials},
		{"missing padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:pw")),
			"", "", errBadCredentials},
		{"user not UTF-8", basicHeader("al\xffce", "pw"), "", "", errBadCredentials},
		{"too long", basicHeader("alice", strings.Repeat("p", maxAuthorizationLen)),
			"", "", errBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, password, err := parseBasic(tt.header)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseBasic(%q) error %v, want %v", tt.header, err, tt.wantErr)
			}
			if user != tt.wantUser || password != tt.wantPassword {
				t.Errorf("parseBasic(%q) = %q, %q; want %q, %q",
					tt.header, user, password, tt.wantUser, tt.wantPassword)
			}
		})
	}
}

// FuzzParseBasic checks that parseBasic never panics, fails only with its
// two errors, and that credentials it accepts encode back to a header that
// gives the same credentials.
func FuzzParseBasic(f *testing.F) {
	f.Add(basicHeader("alice", "s3cret"))
	f.Add(basicHeader("alice", "a:b:c"))
	f.Add(basicHeader("", "pw"))
	f.Add("basic YTpi")
	f.Add("Basic YTpi\r\n")
	f.Add("Bearer x")
	f.Add("Basic ====")
	f.Fuzz(func(t *testing.T, header string) {
		user, password, err := parseBasic(header)
		if err != nil {
			if !errors.Is(err, errNoCredentials) && !errors.Is(err, errBadCredentials) {
				t.Fatalf("parseBasic(%q): unexpected error %v", header, err)
			}
			return
		}
		if user == "" || strings.Contains(user, ":") {
			t.Fatalf("parseBasic(%q) gave user %q", header, user)
		}
		again := basicHeader(user, password)
		u2, p2, err := parseBasic(again)
		if err != nil || u2 != user || p2 != password {
			t.Fatalf("parseBasic(%q) = %q, %q; its re-encoding %q gives %q, %q, %v",
				header, user, password, again, u2, p2, err)
		}
	})
}
