// Package users owns accounts: their names, bcrypt password hashes and team
// memberships, and where they are kept. It knows nothing of HTTP or of the
// rules; the token server asks it to authenticate a name and a password and
// gets back an Account.
package users
