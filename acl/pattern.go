package acl

import (
	"fmt"
	"path"
	"strings"
)

// Placeholders a repository pattern may hold.
const (
	accountPlaceholder = "${account}"
	teamPlaceholder    = "${team}"
)

// pattern matches repository names. Segments are separated by "/"; in a
// segment "*", "?" and "[...]" work as in path.Match and never cross a
// "/"; a segment that is exactly "**" matches any number of segments,
// including none, so "dev/**" matches "dev" and "dev/a/b".
type pattern struct {
	raw      string
	segments []string
	// placeholders is true when raw holds ${account} or ${team}, which are
	// substituted per subject before matching.
	placeholders bool
}

func compilePattern(raw string) (pattern, error) {
	if raw == "" {
		return pattern{}, fmt.Errorf("empty repository pattern")
	}
	p := pattern{
		raw:          raw,
		segments:     strings.Split(raw, "/"),
		placeholders: strings.Contains(raw, "${"),
	}
	rest := strings.NewReplacer(accountPlaceholder, "", teamPlaceholder, "").Replace(raw)
	if strings.Contains(rest, "${") {
		return pattern{}, fmt.Errorf("repository pattern %q: unknown placeholder (want ${account} or ${team})", raw)
	}
	for _, seg := range strings.Split(rest, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return pattern{}, fmt.Errorf("repository pattern %q: %w", raw, err)
		}
	}
	return p, nil
}

// match reports whether name matches the pattern for subj. A pattern with
// ${account} never matches an anonymous subject; one with ${team} matches
// if it does for any of the subject's teams.
func (p pattern) match(subj Subject, name string) bool {
	return p.matchParts(subj, strings.Split(name, "/"))
}

// matchParts is match for a name already split at "/". Deciding a scope
// splits its name once for every rule rather than once per pattern: with
// thousands of rules the splitting was most of the garbage per request.
func (p pattern) matchParts(subj Subject, parts []string) bool {
	if !p.placeholders {
		return matchSegments(p.segments, parts)
	}
	hasAccount := strings.Contains(p.raw, accountPlaceholder)
	if hasAccount && subj.Account == "" {
		return false
	}
	raw := strings.ReplaceAll(p.raw, accountPlaceholder, subj.Account)
	if !strings.Contains(raw, teamPlaceholder) {
		return matchSegments(strings.Split(raw, "/"), parts)
	}
	for _, team := range subj.Teams {
		if matchSegments(strings.Split(strings.ReplaceAll(raw, teamPlaceholder, team), "/"), parts) {
			return true
		}
	}
	return false
}

func matchSegments(pat, name []string) bool {
	if strings.Count(strings.Join(pat, "/"), "**") > 1 {
		return matchTable(pat, name)
	}
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// matchTable is matchSegments for patterns with several "**": trying every
// split for each of them takes time exponential in their number, which a
// rule such as "**/**/**/**/z" against a long name turns into seconds. This
// fills in, from the ends, whether each tail of the pattern matches each
// tail of the name: time proportional to the product of their lengths.
func matchTable(pat, name []string) bool {
	n := len(name)
	next := make([]bool, n+1) // pat[i+1:] matches name[j:]
	cur := make([]bool, n+1)  // pat[i:] matches name[j:]
	next[n] = true
	for i := len(pat) - 1; i >= 0; i-- {
		if pat[i] == "**" {
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || cur[j+1]
			}
		} else {
			cur[n] = false
			for j := n - 1; j >= 0; j-- {
				ok, _ := path.Match(pat[i], name[j])
				cur[j] = ok && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0]
}
