package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec"
)

// TestDataKeysAreMadeOnceWrappedAndDestroyedOnErasure: a child's data key
// is made on first use (once, however many ask at the same time), stored
// only wrapped by the keyring, and erasing the child destroys it for good.
func TestDataKeysAreMadeOnceWrappedAndDestroyedOnErasure(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	seedChild(t, st, "ch-1", "cg-1", t0)
	seedChild(t, st, "ch-2", "cg-2", t0)

	var wg sync.WaitGroup
	ids := make([]string, 8)
	keys := make([][]byte, 8)
	for i := range ids {
		wg.Go(func() {
			id, key, err := st.DataKey(ctx, "ch-1")
			if err != nil {
				t.Error(err)
			}
			ids[i], keys[i] = id, key
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] || !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != 32 {
			t.Fatalf("ask %d got key %s, the first %s: one child, one key", i, ids[i], ids[0])
		}
	}
	var wrapped string
	if err := st.DB(ctx).Raw("SELECT wrapped FROM data_keys WHERE subject = ?", "ch-1").Scan(&wrapped).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wrapped, "sealed:v1:test:") {
		t.Fatalf("the stored key is not wrapped by the keyring: %.20s…", wrapped)
	}
	if key, err := st.OpenDataKey(ctx, ids[0]); err != nil || !bytes.Equal(key, keys[0]) {
		t.Fatalf("OpenDataKey = %v", err)
	}
	other, _, err := st.DataKey(ctx, "ch-2")
	if err != nil || other == ids[0] {
		t.Fatalf("another child's key = %s, %v", other, err)
	}

	var forgotten []string
	st.AfterErase(func(child string) { forgotten = append(forgotten, child) })
	if err := st.ErasePersonal(ctx, "ch-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.OpenDataKey(ctx, ids[0]); !errors.Is(err, codec.ErrDataKeyDestroyed) {
		t.Fatalf("OpenDataKey after erasure = %v, want ErrDataKeyDestroyed", err)
	}
	if _, _, err := st.DataKey(ctx, "ch-1"); !errors.Is(err, codec.ErrDataKeyDestroyed) {
		t.Fatalf("DataKey after erasure = %v, want ErrDataKeyDestroyed (never a new key)", err)
	}
	if err := st.DB(ctx).Raw("SELECT wrapped FROM data_keys WHERE subject = ?", "ch-1").Scan(&wrapped).Error; err != nil || wrapped != "" {
		t.Fatalf("the wrapped key is still stored: %q, %v", wrapped, err)
	}
	if _, err := st.OpenDataKey(ctx, other); err != nil {
		t.Fatalf("another child's key after the erasure: %v", err)
	}
	if len(forgotten) != 1 || forgotten[0] != "ch-1" {
		t.Fatalf("AfterErase told %v, want [ch-1]", forgotten)
	}

	// A child erased before any key was made gets a tombstone: none is
	// made later either.
	if err := st.ErasePersonal(ctx, "ch-2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	seedChild(t, st, "ch-3", "cg-3", t0)
	if err := st.ErasePersonal(ctx, "ch-3", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.DataKey(ctx, "ch-3"); !errors.Is(err, codec.ErrDataKeyDestroyed) {
		t.Fatalf("DataKey of a child erased before any key = %v, want ErrDataKeyDestroyed", err)
	}
}
