package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

// parseDockerfile splits a Dockerfile into instructions. It knows only
// what this project's Dockerfile uses: comments, parser directives and
// backslash continuations; no heredocs.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []instruction
		pending strings.Builder
		start   int
	)
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if pending.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		pending.WriteString(trimmed)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		pending.Reset()
	}
	if pending.Len() != 0 {
		t.Fatalf("%s: the last instruction ends in a continuation", path)
	}
	return out
}

// stage is the instructions of one FROM.
type stage struct {
	name, image string
	body        []instruction
}

func splitStages(t *testing.T, ins []instruction) []stage {
	t.Helper()
	var stages []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--platform") })
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	return stages
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(in.args), &args); err != nil {
		t.Errorf("line %d: %s %s: want the exec (JSON) form, so that signals reach regauth: %v",
			in.line, in.cmd, in.args, err)
	}
	return args
}

var urlPattern = regexp.MustCompile(`(?i)\b(https?|ftp)://`)

// TestDockerfile checks the image recipe: a builder stage that makes a
// static binary, a final stage that runs it as a non-root user with the
// contract's entrypoint, command, port and volume, and nothing fetched by
// ADD.
func TestDockerfile(t *testing.T) {
	stages := splitStages(t, parseDockerfile(t, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages; want a builder and a final stage", len(stages))
	}

	names := map[string]bool{}
	for i, s := range stages {
		if !strings.Contains(s.image, ":") && !strings.Contains(s.image, "@") {
			t.Errorf("stage %d: image %q has no tag: builds would change under it", i, s.image)
		}
		if strings.HasSuffix(s.image, ":latest") {
			t.Errorf("stage %d: image %q: pin a version, not latest", i, s.image)
		}
		for _, in := range s.body {
			if in.cmd == "ADD" && urlPattern.MatchString(in.args) {
				t.Errorf("line %d: ADD of a URL: fetch nothing unverified at build time", in.line)
			}
			if in.cmd == "COPY" {
				for _, f := range strings.Fields(in.args) {
					if from, ok := strings.CutPrefix(f, "--from="); ok && !names[from] {
						t.Errorf("line %d: COPY --from=%s names no earlier stage", in.line, from)
					}
				}
			}
		}
		if s.name != "" {
			names[s.name] = true
		}
	}

	build := strings.Join(runsOf(stages[:len(stages)-1]), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "go build", "./cmd/regauth"} {
		if !strings.Contains(build, want) {
			t.Errorf("the builder stages never run %q: want a static build of ./cmd/regauth", want)
		}
	}

	checkFinalStage(t, stages[len(stages)-1])
	checkDockerignore(t)
}

func runsOf(stages []stage) []string {
	var runs []string
	for _, s := range stages {
		for _, in := range s.body {
			if in.cmd == "RUN" {
				runs = append(runs, in.args)
			}
		}
	}
	return runs
}

func checkFinalStage(t *testing.T, final stage) {
	t.Helper()
	last := map[string]instruction{}
	for _, in := range final.body {
		last[in.cmd] = in
		if in.cmd == "RUN" {
			t.Errorf("line %d: RUN in the final stage: its image has no shell", in.line)
		}
	}

	user, ok := last["USER"]
	if !ok {
		t.Error("the final stage sets no USER: it would run as root")
	} else if name, _, _ := strings.Cut(user.args, ":"); name == "root" || name == "0" {
		t.Errorf("line %d: USER %s: want a non-root user", user.line, user.args)
	}
	if got := last["EXPOSE"].args; !slices.Contains(strings.Fields(got), "5001") {
		t.Errorf("EXPOSE %q: want 5001, the token server's port", got)
	}
	if got := last["VOLUME"].args; got != "/etc/regauth" && !strings.Contains(got, `"/etc/regauth"`) {
		t.Errorf("VOLUME %q: want /etc/regauth", got)
	}
	if ep := execForm(t, last["ENTRYPOINT"]); len(ep) != 1 || filepath.Base(ep[0]) != "regauth" {
		t.Errorf("ENTRYPOINT %q: want the regauth binary alone", ep)
	}
	wantCmd := []string{"serve", "--config", "/etc/regauth/config.yaml"}
	if cmd := execForm(t, last["CMD"]); !slices.Equal(cmd, wantCmd) {
		t.Errorf("CMD %q, want %q", cmd, wantCmd)
	}
}

// checkDockerignore checks that the build context, the repository root,
// leaves out the local deployments, whose folders hold private keys.
func checkDockerignore(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatalf("BuildKit reads the ignore file of deploy/Dockerfile from beside it: %v", err)
	}
	lines := strings.Fields(string(data))
	for _, want := range []string{".git", "**/regauth-data", "**/*.key"} {
		if !slices.Contains(lines, want) {
			t.Errorf("Dockerfile.dockerignore does not exclude %s", want)
		}
	}
}
