// Package codectest holds the fixed payload key the tests use, so histories
// recorded by one test can be replayed by another. It protects nothing (the
// demo data is made up) and must never be used outside tests.
package codectest

import (
	"encoding/base64"

	"github.com/khula-cop/khula/internal/codec"
)

// Spec is the keyring in its environment form ($KHULA_PAYLOAD_KEYS).
var Spec = "test:" + base64.StdEncoding.EncodeToString([]byte("khula-test-key-not-a-secret-0123"))

// Keyring returns the test keyring.
func Keyring() *codec.Keyring {
	k, err := codec.ParseKeyring(Spec)
	if err != nil {
		panic(err) // the constant above is well formed
	}
	return k
}
