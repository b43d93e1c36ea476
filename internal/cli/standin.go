package cli

import (
	"os"
	"sort"
	"strings"

	"github.com/khula-cop/khula/sites"
)

// deployVariables lists the environment variables a site's plugin settings
// name (the values of `…_env` keys, at any depth): the mail relay, the
// export directory, tokens. They belong to the deployment, not to the site
// folder.
func deployVariables(site *sites.Site) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && strings.HasSuffix(k, "_env") && s != "" {
					seen[s] = true
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	p := site.Plugins
	for _, ref := range []sites.PluginRef{p.Referral, p.Notify, p.Export, p.Intake.PluginRef} {
		walk(ref.Config)
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// standIn is a value of the right shape for a deployment variable that is
// not set, so a plugin's settings can be checked without the deployment: a
// host:port for an address, an existing directory for a directory, a URL,
// else a token-like word. tmp is an empty directory.
func standIn(name, tmp string) string {
	switch n := strings.ToUpper(name); {
	case strings.Contains(n, "ADDR"):
		return "127.0.0.1:25"
	case strings.Contains(n, "DIR") || strings.Contains(n, "PATH"):
		return tmp
	case strings.Contains(n, "URL"):
		return "https://stand-in.invalid"
	default:
		return "stand-in-value"
	}
}

// withStandIns sets a stand-in for each of names that is not set, runs fn,
// and unsets them again. It returns the names it stood in for.
func withStandIns(names []string, tmp string, fn func()) []string {
	var missing []string
	for _, name := range names {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
			_ = os.Setenv(name, standIn(name, tmp))
		}
	}
	defer func() {
		for _, name := range missing {
			_ = os.Unsetenv(name)
		}
	}()
	fn()
	return missing
}
