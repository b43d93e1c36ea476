package journal_test

import (
	"context"
	"fmt"
	"os"

	"github.com/khula-cop/khula/plugins/journal"
)

// A plugin sends each message once per idempotency key: the second call
// with the same key returns the first receipt without sending.
func ExampleDo() {
	dir, _ := os.MkdirTemp("", "journal-example")
	defer os.RemoveAll(dir)
	j, err := journal.Open(dir, "messages")
	if err != nil {
		panic(err)
	}
	defer j.Close()

	send := journal.Op[struct{}, string]{
		Send: func(ctx context.Context, _ struct{}, a journal.Attempt) (string, error) {
			fmt.Println("sending, attempt", a.N)
			return "msg-1", nil // e.g. the gateway's message ID
		},
	}
	for range 2 {
		ref, duplicate, err := journal.Do(context.Background(), j, "notify/meeting/42/0", send)
		fmt.Println(ref, duplicate, err)
	}
	// Output:
	// sending, attempt 1
	// msg-1 false <nil>
	// msg-1 true <nil>
}
