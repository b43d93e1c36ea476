package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/store"
)

func TestIdempotencyKeyBindsItsRequest(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		name, key, hash string
		replay          bool
		err             error
	}{
		{"first use", "tablet-42:form-0007", "h1", false, nil},
		{"the same request again", "tablet-42:form-0007", "h1", true, nil},
		{"another request under the key", "tablet-42:form-0007", "h2", false, store.ErrKeyReused},
		{"another key", "tablet-42:form-0008", "h2", false, nil},
	}
	for _, s := range steps {
		replay, err := st.ClaimIdempotencyKey(ctx, s.key, s.hash, "u-1", at)
		if replay != s.replay || !errors.Is(err, s.err) {
			t.Errorf("%s: replay %v err %v, want %v %v", s.name, replay, err, s.replay, s.err)
		}
	}
	n, err := st.PruneIdempotencyKeys(ctx, at.Add(time.Second))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if replay, err := st.ClaimIdempotencyKey(ctx, "tablet-42:form-0007", "h2", "u-1", at); replay || err != nil {
		t.Errorf("a pruned key is new again: %v %v", replay, err)
	}
}

func TestReleasedIdempotencyKeyIsFreeAgain(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	if _, err := st.ClaimIdempotencyKey(ctx, "k-00000001", "h1", "u-1", at); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseIdempotencyKey(ctx, "k-00000001", "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimIdempotencyKey(ctx, "k-00000001", "h2", "u-1", at); !errors.Is(err, store.ErrKeyReused) {
		t.Errorf("a release with another hash freed the key: %v", err)
	}
	if err := st.ReleaseIdempotencyKey(ctx, "k-00000001", "h1"); err != nil {
		t.Fatal(err)
	}
	if replay, err := st.ClaimIdempotencyKey(ctx, "k-00000001", "h2", "u-1", at); replay || err != nil {
		t.Errorf("a released key is new again: %v %v", replay, err)
	}
}
