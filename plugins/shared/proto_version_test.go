package shared

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestProtocolVersionMatchesProto ties ProtocolVersion to the .proto: its
// "protocol-version: N" line and its package khula.plugin.vN.
func TestProtocolVersionMatchesProto(t *testing.T) {
	src, err := os.ReadFile("../proto/khula/plugin/v1/plugin.proto")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^// protocol-version: (\d+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("plugin.proto has no '// protocol-version: N' line")
	}
	if v, _ := strconv.Atoi(string(m[1])); v != ProtocolVersion {
		t.Errorf("plugin.proto says protocol-version %d, shared.ProtocolVersion is %d", v, ProtocolVersion)
	}
	p := regexp.MustCompile(`(?m)^package khula\.plugin\.v(\d+);$`).FindSubmatch(src)
	if p == nil {
		t.Fatal("plugin.proto has no 'package khula.plugin.vN;' line")
	}
	if v, _ := strconv.Atoi(string(p[1])); v != ProtocolVersion {
		t.Errorf("plugin.proto package is v%d, shared.ProtocolVersion is %d", v, ProtocolVersion)
	}
	if int(Handshake.ProtocolVersion) != ProtocolVersion {
		t.Errorf("Handshake.ProtocolVersion %d != ProtocolVersion %d", Handshake.ProtocolVersion, ProtocolVersion)
	}
	if _, ok := ClientPluginSets()[ProtocolVersion]; !ok {
		t.Errorf("ClientPluginSets has no set for protocol %d", ProtocolVersion)
	}
}
