// Package redis_test runs two token servers on one real redis-server, the
// way several regauth instances share accounts, refresh tokens and
// failed-login counts, and checks what each sees of the other's changes and
// how both ride out Redis going away and coming back.
package redis_test
