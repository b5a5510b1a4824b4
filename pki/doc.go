// Package pki owns the project's certificate authority and the keys and
// certificates it issues: the TLS certificate that the registry and the
// token server present, and the certificate of the key that signs tokens.
//
// The registry is configured to trust the CA, not one key: it verifies a
// token's x5c chain against the CA, so the signing key can be replaced
// without touching the registry. Of the project it imports only the helper
// that replaces files atomically.
package pki
