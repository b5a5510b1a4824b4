// Command gen writes the large rules and users files of bench/run.sh's
// last scenario: a policy of many rules and a users file of many accounts,
// shaped like those of a large organisation, into a deployment folder
// made by "regauth init".
//
// Every generated account shares one bcrypt hash made once at the
// cheapest cost: hashing 100,000 passwords at the default cost would take
// longer than the whole benchmark, and a shared hash changes neither the
// size of the file nor the memory of the loaded store, since each account
// holds its own copy once parsed. The one account the benchmark signs in
// as, named by -account, gets a hash of its own password at -cost, read
// from standard input.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/regauth/regauth/users"
)

// The teams of the signed-in account. Rule i%10 == 0 names team<i>, rule
// i%10 == 1 denies interns<i>, so these two meet rules of both kinds.
const (
	benchTeam    = "team5000"
	benchInterns = "interns5001"
)

func main() {
	dir := flag.String("dir", "", "deployment folder whose acl.yaml and users.yaml are replaced")
	nRules := flag.Int("rules", 10_000, "number of rules")
	nUsers := flag.Int("users", 100_000, "number of generated accounts")
	account := flag.String("account", "bench", "account whose password is read from stdin")
	cost := flag.Int("cost", users.DefaultCost, "bcrypt cost of that account's hash")
	flag.Parse()
	if *dir == "" {
		log.Fatal("gen: -dir is required")
	}

	password, err := readPassword(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	if err := writeRules(filepath.Join(*dir, "acl.yaml"), *nRules); err != nil {
		log.Fatal(err)
	}
	err = writeUsers(filepath.Join(*dir, "users.yaml"), *nUsers, *account, password, *cost)
	if err != nil {
		log.Fatal(err)
	}
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("read password: empty")
	}
	return line, nil
}

// writeRules writes the starter rules of "regauth init" and then n-5 more:
// one in ten for a team, one in ten denying a team push, one in ten
// letting anyone pull a public folder, and the rest for one account each.
func writeRules(path string, n int) error {
	var b strings.Builder
	b.WriteString(`rules:
  - {accounts: [admin], repositories: ["**"], actions: ["*"]}
  - {accounts: [admin], catalog: true}
  - {accounts: ["*"], repositories: ["${account}/**"], actions: [pull, push, delete]}
  - {teams: ["*"], repositories: ["${team}/**"], actions: [pull, push]}
  - {anonymous: true, repositories: ["public/**"], actions: [pull]}
`)
	for i := range max(n-5, 0) {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "  - {teams: [team%d], repositories: [\"team%d/**\"], "+
				"actions: [pull, push]}\n", i, i)
		case 1:
			fmt.Fprintf(&b, "  - {deny: true, teams: [interns%d], repositories: [\"prod%d/**\"], "+
				"actions: [push]}\n", i, i)
		case 2:
			fmt.Fprintf(&b, "  - {anonymous: true, repositories: [\"public%d/*\"], actions: [pull]}\n", i)
		default:
			fmt.Fprintf(&b, "  - {accounts: [user%d], repositories: [\"user%d/**\", \"shared/app-%d\"], "+
				"actions: [\"*\"]}\n", i, i, i)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeUsers writes n accounts user0... in a team each, plus account.
func writeUsers(path string, n int, account, password string, cost int) error {
	own, err := users.HashPassword(password, cost)
	if err != nil {
		return err
	}
	shared, err := bcrypt.GenerateFromPassword([]byte("shared-by-generated-accounts"), bcrypt.MinCost)
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format(time.RFC3339)

	var b strings.Builder
	b.Grow(n * 160)
	b.WriteString("users:\n")
	fmt.Fprintf(&b, "  %s:\n    password: %s\n    teams: [%s, %s]\n"+
		"    created: %s\n    changed: %s\n", account, own, benchTeam, benchInterns, stamp, stamp)
	for i := range n {
		fmt.Fprintf(&b, "  user%d:\n    password: %s\n    teams: [team%d]\n"+
			"    created: %s\n    changed: %s\n", i, shared, i%1000*10, stamp, stamp)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
