// Command khula orchestrates the Community of Practice cycle for child
// well-being: run `khula dev` for everything in one process, `khula help`
// for the rest.
package main

import (
	"os"

	"github.com/khula-cop/khula/internal/cli"
)

func main() {
	// site validate starts each site's plugins: built-ins run as this binary.
	cli.SitePluginCheck = cli.CheckSitePlugins
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
