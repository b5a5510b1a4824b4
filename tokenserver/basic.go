package tokenserver

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// Errors of parseBasic.
var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("malformed Basic credentials")
)

// maxAuthorizationLen bounds the header before decoding: a name of 64 bytes
// and a password of 72 encode to far less.
const maxAuthorizationLen = 1024

// parseBasic parses an Authorization header of the Basic scheme (RFC 7617).
// It returns errNoCredentials for an empty header and errBadCredentials for
// anything else it cannot use, including other schemes. The user name ends
// at the first colon; the password may hold colons.
func parseBasic(header string) (user, password string, err error) {
	if header == "" {
		return "", "", errNoCredentials
	}
	if len(header) > maxAuthorizationLen {
		return "", "", errBadCredentials
	}
	scheme, encoded, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", errBadCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", errBadCredentials
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" || !utf8.ValidString(user) {
		return "", "", errBadCredentials
	}
	return user, password, nil
}
