// Command khula orchestrates the Community of Practice cycle for child
// well-being: run `khula dev` for everything in one process, `khula help`
// for the rest.
package main

import (
	"os"

	"github.com/khula-cop/khula/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
