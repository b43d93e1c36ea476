// Package shared is the one place the khula host and its plugins agree on:
// the go-plugin handshake, the versioned plugin sets, the gRPC shims that
// carry the plugins package's Go interfaces over the wire, and Serve, which a
// plugin's main calls. The generated protobuf types never leave this package:
// translation functions turn them into plugins types and back.
package shared

import (
	"fmt"

	"github.com/hashicorp/go-plugin"

	"github.com/khula-cop/khula/plugins"
)

// ProtocolVersion is the plugin protocol khula speaks: the go-plugin
// application protocol version negotiated at start-up. It matches the
// "protocol-version" line of plugins/proto/khula/plugin/v1/plugin.proto
// (a test keeps them together).
const ProtocolVersion = 1

// Handshake is the go-plugin handshake of khula plugins. The magic cookie is
// not a secret: it stops a plugin binary started by hand from waiting for a
// host that will never come, and tells it how to behave.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "KHULA_PLUGIN_COOKIE",
	MagicCookieValue: "b5d2c9e4-khula-cop-plugin",
}

// Names under which the plugin set's members are dispensed. "plugin" is the
// control service every plugin serves; the others are the roles.
const (
	NameControl  = "plugin"
	NameReferral = "referral"
	NameNotify   = "notify"
	NameExport   = "export"
	NameIntake   = "intake"
)

// KnownProtocols bounds the protocol versions a host recognises in a
// plugin's handshake. Versions other than ProtocolVersion get an empty set:
// the handshake succeeds, nothing can be dispensed, and the host reads the
// plugin's version from the negotiation (plugin.Client.NegotiatedVersion)
// to refuse it with a clear message, instead of parsing go-plugin's error
// text.
const KnownProtocols = 16

// ClientPluginSets is the versioned plugin set a host offers: the protocol
// version it speaks with every dispensable name, and an empty set for each
// other version up to KnownProtocols (see there).
func ClientPluginSets() map[int]plugin.PluginSet {
	sets := make(map[int]plugin.PluginSet, KnownProtocols)
	for v := 1; v <= KnownProtocols; v++ {
		sets[v] = plugin.PluginSet{}
	}
	sets[ProtocolVersion] = plugin.PluginSet{
		NameControl:  &ControlPlugin{},
		NameReferral: &ReferralPlugin{},
		NameNotify:   &NotifyPlugin{},
		NameExport:   &ExportPlugin{},
		NameIntake:   &IntakePlugin{},
	}
	return sets
}

// PluginSet is the plugin set a plugin serves for impl: the control service
// and one member per role impl implements (see Impl). It fails when impl
// implements no role.
func PluginSet(impl Impl) (plugin.PluginSet, error) {
	st := &serverState{impl: impl}
	set := plugin.PluginSet{NameControl: &ControlPlugin{Impl: impl, state: st}}
	if r, ok := impl.(plugins.Referrer); ok {
		set[NameReferral] = &ReferralPlugin{Impl: r, state: st}
		st.roles = append(st.roles, plugins.RoleReferral)
	}
	if n, ok := impl.(plugins.Notifier); ok {
		set[NameNotify] = &NotifyPlugin{Impl: n, state: st}
		st.roles = append(st.roles, plugins.RoleNotify)
	}
	if e, ok := impl.(plugins.Exporter); ok {
		set[NameExport] = &ExportPlugin{Impl: e, state: st}
		st.roles = append(st.roles, plugins.RoleExport)
	}
	if i, ok := impl.(plugins.Intaker); ok {
		set[NameIntake] = &IntakePlugin{Impl: i, state: st}
		st.roles = append(st.roles, plugins.RoleIntake)
	}
	if len(st.roles) == 0 {
		return nil, fmt.Errorf("plugin %q implements no role: implement plugins.Referrer, plugins.Notifier, plugins.Exporter or plugins.Intaker", impl.Name())
	}
	return set, nil
}

// DispenseName is the plugin-set name serving role.
func DispenseName(role string) (string, error) {
	switch role {
	case plugins.RoleReferral:
		return NameReferral, nil
	case plugins.RoleNotify:
		return NameNotify, nil
	case plugins.RoleExport:
		return NameExport, nil
	case plugins.RoleIntake:
		return NameIntake, nil
	}
	return "", fmt.Errorf("unknown plugin role %q", role)
}
