package harness

// Account is a test user whose password the client knows.
type Account struct {
	Name, Password string
	Teams          []string
}

// The accounts the token server of every Env knows. Each owns its own
// namespace under Rules; the other rights are described there.
var (
	Admin = Account{Name: "admin", Password: "admin-password"}
	Alice = Account{Name: "alice", Password: "alice-password"}
	Bob   = Account{Name: "bob", Password: "bob-password"}
	Carol = Account{Name: "carol", Password: "carol-password", Teams: []string{"dev"}}
)

// bcryptCost is the lowest cost bcrypt accepts, so that logins stay cheap.
const bcryptCost = 4

// Rules is the policy under test. Every account owns its namespace; Bob
// may also read Alice's; the dev team writes dev/** except dev/frozen/**;
// anyone, logged in or not, reads public/**; only Admin lists the catalog.
const Rules = `
rules:
  - accounts: [admin]
    repositories: ["**"]
    actions: ["*"]
    catalog: true
  - accounts: ["*"]
    repositories: ["${account}/**"]
    actions: [pull, push]
  - accounts: [bob]
    repositories: ["alice/**"]
    actions: [pull]
  - teams: [dev]
    repositories: ["dev/**"]
    actions: [pull, push]
  - teams: [dev]
    repositories: ["dev/frozen/**"]
    actions: [push, delete]
    deny: true
  - anonymous: true
    repositories: ["public/**"]
    actions: [pull]
`
