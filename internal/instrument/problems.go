package instrument

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where an element of an instrument definition was written: the file
// and the 1-based line. Problems found while loading are reported there.
type Pos struct {
	File string `yaml:"-" json:"-"`
	Line int    `yaml:"-" json:"-"`
}

// String returns "file:line".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Problem is one thing wrong with an instrument definition.
type Problem struct {
	File    string
	Line    int
	Message string
}

// String returns "file:line: message".
func (p Problem) String() string {
	if p.Line <= 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// LoadError lists every problem found in an instrument definition (and in the
// base it extends), sorted by file and line, so an author fixes them all in
// one pass rather than one per run.
type LoadError struct {
	Problems []Problem
}

// Error returns one problem per line.
func (e *LoadError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid instrument: ")
	} else {
		fmt.Fprintf(&b, "invalid instrument (%d problems):\n", len(e.Problems))
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects problems while a definition is checked.
type problems struct {
	list []Problem
	seen map[string]bool
}

func (ps *problems) add(pos Pos, format string, args ...any) {
	p := Problem{File: pos.File, Line: pos.Line, Message: fmt.Sprintf(format, args...)}
	key := p.String()
	if ps.seen == nil {
		ps.seen = map[string]bool{}
	}
	if ps.seen[key] {
		return
	}
	ps.seen[key] = true
	ps.list = append(ps.list, p)
}

func (ps *problems) merge(err error) {
	if le, ok := err.(*LoadError); ok {
		for _, p := range le.Problems {
			ps.add(Pos{File: p.File, Line: p.Line}, "%s", p.Message)
		}
	}
}

func (ps *problems) empty() bool { return len(ps.list) == 0 }

// err returns nil when no problem was found, else a *LoadError.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
		return list[i].Line < list[j].Line
	})
	return &LoadError{Problems: list}
}
