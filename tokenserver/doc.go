// Package tokenserver is the token endpoint of the Docker registry token
// flow: it authenticates the client, asks the rules what the subject may do
// with the scopes it asked for, and returns a JWT the registry accepts.
//
// The JWT carries the signing certificate chain in its x5c header. Both
// registry generations verify that chain against the CA in their
// rootcertbundle, which lets the signing key change without reconfiguring
// the registry.
package tokenserver
