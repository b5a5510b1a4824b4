package users

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// HtpasswdEntry is one usable line of an htpasswd file.
type HtpasswdEntry struct {
	Line int
	Name string
	Hash string // bcrypt, as htpasswd -B writes it
}

// HtpasswdSkip is a line that cannot be imported, and why.
type HtpasswdSkip struct {
	Line   int
	Name   string // empty when the line has no name
	Reason string
}

// maxHtpasswdLine bounds one line; real lines are under 100 bytes.
const maxHtpasswdLine = 4096

// ParseHtpasswd reads an htpasswd file. Lines with bcrypt hashes ($2y$,
// $2a$, $2b$) become entries; every other line is skipped with a reason:
// other hash kinds (MD5 $apr1$, {SHA}, crypt) cannot be checked here, and
// the password behind them is unknown, so they cannot be converted. Blank
// lines and lines starting with "#" are ignored. Only a read error fails
// the whole file.
func ParseHtpasswd(r io.Reader) ([]HtpasswdEntry, []HtpasswdSkip, error) {
	var (
		entries []HtpasswdEntry
		skips   []HtpasswdSkip
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxHtpasswdLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, reason := parseHtpasswdLine(line)
		if reason != "" {
			skips = append(skips, HtpasswdSkip{Line: n, Name: e.Name, Reason: reason})
			continue
		}
		e.Line = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read htpasswd: %w", err)
	}
	return entries, skips, nil
}

// cannotImport ends the reason a line with another hash kind is skipped.
const cannotImport = ", which cannot be checked here; add the account with regauth user add, " +
	"or hash it again with htpasswd -B and import it"

// parseHtpasswdLine returns the entry of a line or why it is skipped. The
// reason never quotes the hash.
func parseHtpasswdLine(line string) (HtpasswdEntry, string) {
	name, hash, ok := strings.Cut(line, ":")
	if !ok {
		return HtpasswdEntry{}, "not a name:hash line"
	}
	if err := ValidateName(name); err != nil {
		return HtpasswdEntry{}, "invalid user name"
	}
	e := HtpasswdEntry{Name: name, Hash: hash}
	switch {
	case strings.HasPrefix(hash, "$apr1$"):
		return e, "MD5 ($apr1$) hash" + cannotImport
	case strings.HasPrefix(hash, "{SHA}"):
		return e, "SHA1 ({SHA}) hash" + cannotImport
	case strings.HasPrefix(hash, "$2y$"), strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"):
		if _, err := bcryptCost(hash); err != nil {
			return e, "malformed bcrypt hash"
		}
		return e, ""
	case len(hash) == 13:
		return e, "crypt hash" + cannotImport
	}
	return e, "unknown hash kind (only bcrypt, as made by htpasswd -B, can be imported)"
}
