package who

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// TestTablesMatchNotice checks every table against the SHA-256 that NOTICE
// lists, so an edited or re-encoded table (say, CRLF turned into LF) fails.
func TestTablesMatchNotice(t *testing.T) {
	notice, err := fs.ReadFile(Tables(), "NOTICE")
	if err != nil {
		t.Fatalf("reading NOTICE: %v", err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(notice)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && len(f[0]) == 64 && strings.HasSuffix(f[1], ".txt") {
			want[f[1]] = f[0]
		}
	}
	names := []string{"lenanthro.txt", "weianthro.txt", "bmianthro.txt", "hfawho2007.txt", "wfawho2007.txt", "bfawho2007.txt"}
	if len(want) != len(names) {
		t.Fatalf("NOTICE lists %d checksums, want %d", len(want), len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(Tables(), name)
			if err != nil {
				t.Fatalf("not embedded: %v", err)
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != want[name] {
				t.Errorf("SHA-256 %s, NOTICE says %s", got, want[name])
			}
		})
	}
}
