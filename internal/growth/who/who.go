// Package who holds WHO's growth reference tables, built into the binary.
//
// The six files are WHO's own, unchanged: lenanthro.txt, weianthro.txt and
// bmianthro.txt (WHO Child Growth Standards 2006, as distributed with WHO's
// anthro software) and hfawho2007.txt, wfawho2007.txt and bfawho2007.txt
// (WHO Growth Reference 2007, as distributed with WHO AnthroPlus). NOTICE
// says where they come from and lists their checksums. The package has one
// job, holding the bytes; package growth parses them.
package who

import (
	"embed"
	"io/fs"
)

//go:embed NOTICE lenanthro.txt weianthro.txt bmianthro.txt hfawho2007.txt wfawho2007.txt bfawho2007.txt
var files embed.FS

// Tables returns the built-in tables: the six files (and NOTICE) at the
// root of a read-only file system, under the names WHO gives them.
func Tables() fs.FS { return files }
