package dedupe

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// testKey is a made-up 32-byte key for tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestIndexer(t testing.TB, keyID string, key []byte) *Indexer {
	t.Helper()
	ix, err := NewIndexer(keyID, key)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestNewIndexer(t *testing.T) {
	tests := []struct {
		name    string
		keyID   string
		key     []byte
		wantErr bool
	}{
		{"ok", "k1", testKey, false},
		{"longer key", "k1", bytes.Repeat([]byte{7}, 64), false},
		{"empty key ID", "", testKey, true},
		{"short key", "k1", testKey[:31], true},
		{"no key", "k1", nil, true},
	}
	for _, tt := range tests {
		ix, err := NewIndexer(tt.keyID, tt.key)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && ix.KeyID() != tt.keyID {
			t.Errorf("%s: KeyID() = %q, want %q", tt.name, ix.KeyID(), tt.keyID)
		}
	}
}

// The Indexer keeps its own copy of the key.
func TestNewIndexerCopiesKey(t *testing.T) {
	key := slices.Clone(testKey)
	ix := newTestIndexer(t, "k1", key)
	p := Person{GivenName: "Sipho", FamilyName: "Nkosi"}
	before := ix.Tokens(p)
	key[0] ^= 0xff
	if after := ix.Tokens(p); !slices.Equal(before, after) {
		t.Error("changing the caller's key slice changed the tokens")
	}
}

func kinds(toks []Token) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Kind)
	}
	return out
}

func TestTokensKinds(t *testing.T) {
	ix := newTestIndexer(t, "k1", testKey)
	tests := []struct {
		name      string
		p         Person
		tokens    []string
		queryOnly []string // kinds QueryTokens adds after Tokens
	}{
		{"everything",
			Person{GivenName: "Sipho", FamilyName: "Nkosi", BirthDate: "2019-05-04", CaregiverPhone: "082 555 0101"},
			[]string{KindBirthDate, KindPhone, KindName}, []string{KindBirthDate, KindName}},
		{"day after 12: no swapped date",
			Person{GivenName: "Sipho", FamilyName: "Nkosi", BirthDate: "2019-05-14"},
			[]string{KindBirthDate, KindName}, []string{KindName}},
		{"day equals month: no swapped date",
			Person{FamilyName: "Nkosi", BirthDate: "2019-05-05"},
			[]string{KindBirthDate, KindName}, nil},
		{"not a real date", Person{FamilyName: "Nkosi", BirthDate: "2019-02-30"}, []string{KindName}, nil},
		{"wrong date format", Person{FamilyName: "Nkosi", BirthDate: "04/05/2019"}, []string{KindName}, nil},
		{"short phone", Person{FamilyName: "Nkosi", CaregiverPhone: "555 0101"}, []string{KindName}, nil},
		{"no family name", Person{GivenName: "Sipho", BirthDate: "2019-05-14"}, []string{KindBirthDate}, nil},
		{"family name only punctuation", Person{GivenName: "Sipho", FamilyName: " - "}, nil, nil},
		{"family name only digits", Person{GivenName: "Sipho", FamilyName: "2"}, nil, nil},
		{"nothing", Person{}, nil, nil},
	}
	for _, tt := range tests {
		toks := ix.Tokens(tt.p)
		if got := kinds(toks); !slices.Equal(got, tt.tokens) {
			t.Errorf("%s: Tokens kinds = %v, want %v", tt.name, got, tt.tokens)
		}
		q := ix.QueryTokens(tt.p)
		if len(q) < len(toks) || !slices.Equal(q[:len(toks)], toks) {
			t.Errorf("%s: QueryTokens does not start with Tokens", tt.name)
			continue
		}
		if got := kinds(q[len(toks):]); !slices.Equal(got, tt.queryOnly) {
			t.Errorf("%s: QueryTokens extra kinds = %v, want %v", tt.name, got, tt.queryOnly)
		}
	}
}

func TestTokensSamePersonSameTokens(t *testing.T) {
	ix := newTestIndexer(t, "k1", testKey)
	a := Person{GivenName: "Lerato", FamilyName: "Molefe", BirthDate: "2018-07-03", CaregiverPhone: "+27 72 555 0199"}
	b := Person{GivenName: " LÉRATO ", FamilyName: "molefe", BirthDate: " 2018-07-03", CaregiverPhone: "072-555-0199"}
	if ta, tb := ix.Tokens(a), ix.Tokens(b); !slices.Equal(ta, tb) {
		t.Errorf("same person written two ways: tokens differ\n%v\n%v", ta, tb)
	}
	if !slices.Equal(ix.Tokens(a), ix.Tokens(a)) {
		t.Error("Tokens is not deterministic")
	}
	// A second Indexer with the same key gives the same tokens.
	ix2 := newTestIndexer(t, "k1", slices.Clone(testKey))
	if !slices.Equal(ix.Tokens(a), ix2.Tokens(a)) {
		t.Error("same key, different tokens")
	}
}

func TestTokensDifferentKey(t *testing.T) {
	ix1 := newTestIndexer(t, "k1", testKey)
	ix2 := newTestIndexer(t, "k2", []byte("another made-up key of 32 bytes!"))
	p := Person{GivenName: "Sipho", FamilyName: "Nkosi", BirthDate: "2019-05-14", CaregiverPhone: "0825550101"}
	t1, t2 := ix1.Tokens(p), ix2.Tokens(p)
	if len(t1) != 3 || len(t2) != 3 {
		t.Fatalf("got %d and %d tokens, want 3", len(t1), len(t2))
	}
	for i := range t1 {
		if t1[i].Kind != t2[i].Kind || t1[i].Value == t2[i].Value {
			t.Errorf("token %d: %v under one key, %v under another", i, t1[i], t2[i])
		}
	}
}

func TestTokenValues(t *testing.T) {
	ix := newTestIndexer(t, "k1", testKey)
	p := Person{GivenName: "Sipho", FamilyName: "Nkosi", BirthDate: "2019-05-04", CaregiverPhone: "0825550101"}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, tok := range ix.QueryTokens(p) {
		if !hex64.MatchString(tok.Value) {
			t.Errorf("%s token %q is not 64 hex digits", tok.Kind, tok.Value)
		}
		for _, plain := range []string{"2019", "0825550101", "nkosi", "nks"} {
			if strings.Contains(tok.Value, plain) {
				t.Errorf("%s token contains %q", tok.Kind, plain)
			}
		}
	}
	// The same value under another kind gives another token.
	tz := tokenizer{ix: ix}
	tz.add(KindPhone, "x")
	tz.add(KindName, "x")
	if len(tz.out) != 2 || tz.out[0].Value == tz.out[1].Value {
		t.Errorf("kind is not part of the token: %v", tz.out)
	}
}

func TestQueryTokensSwappedBirthDate(t *testing.T) {
	ix := newTestIndexer(t, "k1", testKey)
	typed := Person{FamilyName: "Nkosi", BirthDate: "2015-04-03"}
	actual := Person{FamilyName: "Nkosi", BirthDate: "2015-03-04"}
	realDOB := ix.Tokens(actual)[0]
	if realDOB.Kind != KindBirthDate {
		t.Fatalf("first token is %s", realDOB.Kind)
	}
	if slices.Contains(ix.Tokens(typed), realDOB) {
		t.Error("Tokens already holds the swapped date")
	}
	if !slices.Contains(ix.QueryTokens(typed), realDOB) {
		t.Error("QueryTokens lacks the swapped date")
	}
}

func TestQueryTokensSwappedNameOrder(t *testing.T) {
	ix := newTestIndexer(t, "k1", testKey)
	stored := ix.Tokens(Person{GivenName: "Buhle", FamilyName: "Ndlovu"})
	q := ix.QueryTokens(Person{GivenName: "Ndlovu", FamilyName: "Buhle"})
	if !slices.Contains(q, stored[0]) {
		t.Error("QueryTokens lacks the name token in the other order")
	}
}

func TestSkeleton(t *testing.T) {
	tests := []struct {
		names []string // all give want
		want  string
	}{
		{[]string{"nkosi", "nkosie", "nkossi", "nkozi"}, "nks"},
		{[]string{"mokoena", "mokwena"}, "mkn"},
		{[]string{"dlamini", "dhlamini"}, "dlmn"},
		{[]string{"khumalo", "kumalo", "xumalo", "cumalo"}, "kml"},
		{[]string{"mahlangu", "mahlango"}, "mhlng"},
		{[]string{"thabo", "tabo"}, "tb"},
		{[]string{"phiri", "firi", "viri"}, "fr"},
		{[]string{"zulu", "sulu"}, "sl"},
		{[]string{"yende", "iende"}, "ind"},
		{[]string{"mthembu shabalala", "mthembushabalala"}, "mtmbsbl"},
		{[]string{""}, ""},
	}
	for _, tt := range tests {
		for _, n := range tt.names {
			if got := skeleton(n); got != tt.want {
				t.Errorf("skeleton(%q) = %q, want %q", n, got, tt.want)
			}
		}
	}
}

func TestNameKey(t *testing.T) {
	tests := []struct {
		family, given, want string
	}{
		{"nkosi", "sipho", "nks:s"},
		{"nkosie", "siphho", "nks:s"},
		{"mokwena", "christopher", "mkn:k"},
		{"mokoena", "kristopher", "mkn:k"},
		{"dlamini", "philani", "dlmn:f"},
		{"dlamini", "", "dlmn:"},
		{"", "sipho", ""},
		{"2", "sipho", ""},
	}
	for _, tt := range tests {
		got, ok := nameKey(tt.family, tt.given)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("nameKey(%q, %q) = %q, want %q", tt.family, tt.given, got, tt.want)
		}
	}
}
