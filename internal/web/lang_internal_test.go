package web

import "testing"

func TestSameOriginPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/work", true},
		{"/work?site=johannesburg&school=meadowlands#children", true},
		{"/cycles/johannesburg/2/ch-1/forms/caregiver?phase=baseline", true},
		{"", false},
		{"work", false},
		{"//evil.example/work", false},
		{"///evil.example", false},
		{"/\\evil.example", false},
		{"/work\\..\\", false},
		{"https://evil.example/", false},
		{"javascript:alert(1)", false},
		{"http:/work", false},
		{"/work\r\nLocation: https://evil.example", false},
		{"/work\x00", false},
		{"/work\x7f", false},
		{"/work page", false},
		{"/%2F%2Fevil.example", false}, // decodes to //evil.example: refused to be safe
	} {
		if got := sameOriginPath(tt.path); got != tt.ok {
			t.Errorf("sameOriginPath(%q) = %v, want %v", tt.path, got, tt.ok)
		}
	}
}
