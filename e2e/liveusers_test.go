//go:build e2e

package e2e

// This file checks that account changes reach a running token server: no
// restart of regauth or the registry between a command and its effect.

import (
	"testing"
	"time"
)

// liveChangeTimeout is how long a change made with a regauth command may
// take to reach the running token server. The README promises "at once"
// for the commands and within a second for edits by hand.
const liveChangeTimeout = 5 * time.Second

// TestLiveUserChanges adds an account, gives it a team and removes it while
// regauth and registry:3 run, and checks that docker sees each change.
func TestLiveUserChanges(t *testing.T) {
	d := startDeployment(t, env(t, "REGISTRY3_BIN"), 15040, 15041)
	reg := d.registry
	trustCA(t, reg, d.caFile)
	importImage(t, reg+"/dev/x:1", reg+"/carol/x:1")
	carol := newDockerClient(t)

	// A new account can log in while the server runs, and has its own
	// namespace but no team's.
	d.addUser(t, "carol", "carol-secret")
	eventually(t, liveChangeTimeout, "carol's login after user add",
		func() result { return carol.login(reg, "carol", "carol-secret") }, succeeded)
	carol.mustPush(t, reg+"/carol/x:1")
	wantFailure(t, "carol pushing to dev/ before joining dev",
		carol.try("", "push", reg+"/dev/x:1"), deniedAccess...)

	// Joining a team grants its repositories at the next token.
	d.regauth(t, "", "team", "add", "dev", "carol")
	eventually(t, liveChangeTimeout, "carol's push to dev/ after team add",
		func() result { return carol.try("", "push", reg+"/dev/x:1") }, succeeded)

	// A removed account loses what docker login stored for it, and cannot
	// log in again.
	d.regauth(t, "", "user", "del", "carol")
	eventually(t, liveChangeTimeout, "carol's push after user del",
		func() result { return carol.try("", "push", reg+"/carol/x:1") },
		refusedWith(badLogin...))
	eventually(t, liveChangeTimeout, "carol's login after user del",
		func() result { return carol.login(reg, "carol", "carol-secret") },
		refusedWith(badLogin...))
}
