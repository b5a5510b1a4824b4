package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Environment of TestCLIHelperProcess: the arguments of regauth, separated
// by newlines, and a file to wait for before running them.
const (
	helperArgsEnv  = "REGAUTH_CLI_TEST_ARGS"
	helperStartEnv = "REGAUTH_CLI_TEST_START"
)

// TestCLIHelperProcess is not a test of its own: tests run this binary
// again with it to have regauth commands in separate processes, without
// building anything.
func TestCLIHelperProcess(t *testing.T) {
	args := os.Getenv(helperArgsEnv)
	if args == "" {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(os.Getenv(helperStartEnv)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "no start signal")
			os.Exit(2)
		}
		time.Sleep(5 * time.Millisecond)
	}

	root := newRootCommand()
	root.SetArgs(strings.Split(args, "\n"))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "regauth:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestCLIConcurrentUserAdd runs several "regauth user add" processes at
// once on one users file: every account must land.
func TestCLIConcurrentUserAdd(t *testing.T) {
	cfg := newDeployment(t)
	start := filepath.Join(t.TempDir(), "start")
	const processes = 4

	cmds := make([]*exec.Cmd, processes)
	outputs := make([]*strings.Builder, processes)
	var want []string
	for i := range cmds {
		name := fmt.Sprintf("user%d", i)
		want = append(want, name)
		args := []string{"user", "add", name, "--password-stdin", "--config", cfg}
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCLIHelperProcess$")
		cmd.Env = append(os.Environ(), helperArgsEnv+"="+strings.Join(args, "\n"), helperStartEnv+"="+start)
		cmd.Stdin = strings.NewReader(name + "-password\n")
		outputs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outputs[i], outputs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("regauth user add in process %d: %v\n%s", i, err, outputs[i])
		}
	}

	list, err := openUsersFile(t, cfg).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := accountNames(list); !slices.Equal(got, want) {
		t.Errorf("accounts after concurrent adds: %q, want %q", got, want)
	}
	for _, name := range want {
		if err := authenticates(t, openUsersFile(t, cfg), name, name+"-password"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
