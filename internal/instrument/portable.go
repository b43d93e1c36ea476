package instrument

import (
	"errors"
	"fmt"
	"sort"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// Cond is a condition (a show_if or a red flag's when) rewritten from CEL
// into a small tree that other evaluators can run without CEL: the form's
// script on a phone with no connection, and ODK's XPath. Only what the
// instruments' conditions use is covered (see [Op]); anything else is
// reported as not portable and stays with the server.
//
// Evaluation follows CEL: reading an answer that is absent (op "answer")
// makes the whole condition "no value", which show_if treats as false and a
// red flag as not raised; "answer_or" reads with a default instead.
type Cond struct {
	Op   Op      `json:"op"`
	Args []*Cond `json:"args,omitempty"`
	// Item is the item read by answer, answer_or, answered and declined.
	Item string `json:"item,omitempty"`
	// Value is a literal's value (bool, float64 or string) and answer_or's
	// default. Numbers are float64: CEL compares int and double by value.
	Value any `json:"value,omitempty"`
}

// Op is a [Cond] operation.
type Op string

// The operations of a [Cond].
const (
	OpNot      Op = "not"       // one argument
	OpAnd      Op = "and"       // two arguments
	OpOr       Op = "or"        // two arguments
	OpEq       Op = "eq"        // two arguments
	OpNe       Op = "ne"        // two arguments
	OpLt       Op = "lt"        // two arguments
	OpLe       Op = "le"        // two arguments
	OpGt       Op = "gt"        // two arguments
	OpGe       Op = "ge"        // two arguments
	OpIn       Op = "in"        // value, list
	OpList     Op = "list"      // literal elements
	OpLit      Op = "lit"       // Value
	OpAnswer   Op = "answer"    // answers.Item; absent: no value
	OpAnswerOr Op = "answer_or" // answers.?Item.orValue(Value)
	OpAnswered Op = "answered"  // has(answers.Item)
	OpDeclined Op = "declined"  // declined.Item: the respondent declined the item
)

// ErrNotPortable reports a condition that uses more of CEL than [Cond] has.
var ErrNotPortable = errors.New("condition is not portable")

// ShowIfCond is item's show_if as a [Cond]; nil (and no error) when the
// item is always shown. The error wraps [ErrNotPortable] when the condition
// cannot be rewritten, and [ErrUnknownItem] for an unknown item.
func (in *Instrument) ShowIfCond(itemID string) (*Cond, error) {
	if _, ok := in.itemIdx[itemID]; !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownItem, itemID)
	}
	prg := in.showIf[itemID]
	if prg == nil {
		return nil, nil
	}
	return in.portable(prg)
}

// PortableFlag is a red flag with its condition as a [Cond]. Cond is nil
// when the condition needs what only the server has (growth z-scores,
// scale scores, the child's record); NotPortable then says why.
type PortableFlag struct {
	RedFlag
	Cond *Cond `json:"cond,omitempty"`
	// Items are the items the condition reads.
	Items       []string `json:"items,omitempty"`
	NotPortable string   `json:"not_portable,omitempty"`
}

// PortableFlags lists every red flag with its portable condition.
func (in *Instrument) PortableFlags() []PortableFlag {
	out := make([]PortableFlag, 0, len(in.flags))
	for _, f := range in.flags {
		pf := PortableFlag{RedFlag: f.RedFlag}
		c, err := in.portable(f.prg)
		if err != nil {
			pf.NotPortable = err.Error()
		} else {
			pf.Cond = c
			pf.Items = c.ItemsRead()
		}
		out = append(out, pf)
	}
	return out
}

// ItemsRead lists, sorted, the items a condition reads.
func (c *Cond) ItemsRead() []string {
	seen := map[string]bool{}
	var walk func(*Cond)
	walk = func(c *Cond) {
		if c == nil {
			return
		}
		if c.Item != "" {
			seen[c.Item] = true
		}
		for _, a := range c.Args {
			walk(a)
		}
	}
	walk(c)
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (in *Instrument) portable(prg *program) (*Cond, error) {
	if prg.ast == nil {
		return nil, fmt.Errorf("%s: %w: not compiled", prg.what, ErrNotPortable)
	}
	c, err := in.toCond(prg.ast.Expr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prg.what, err)
	}
	return c, nil
}

var binaryOps = map[string]Op{
	operators.LogicalAnd:    OpAnd,
	operators.LogicalOr:     OpOr,
	operators.Equals:        OpEq,
	operators.NotEquals:     OpNe,
	operators.Less:          OpLt,
	operators.LessEquals:    OpLe,
	operators.Greater:       OpGt,
	operators.GreaterEquals: OpGe,
	operators.In:            OpIn,
}

func notPortable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotPortable, fmt.Sprintf(format, args...))
}

func (in *Instrument) toCond(e celast.Expr) (*Cond, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		v, err := literalValue(e.AsLiteral())
		if err != nil {
			return nil, err
		}
		return &Cond{Op: OpLit, Value: v}, nil
	case celast.ListKind:
		l := &Cond{Op: OpList}
		for _, el := range e.AsList().Elements() {
			c, err := in.toCond(el)
			if err != nil {
				return nil, err
			}
			if c.Op != OpLit {
				return nil, notPortable("list elements must be literals")
			}
			l.Args = append(l.Args, c)
		}
		return l, nil
	case celast.SelectKind:
		return in.selectCond(e.AsSelect())
	case celast.CallKind:
		return in.callCond(e.AsCall())
	}
	return nil, notPortable("unsupported expression")
}

func (in *Instrument) selectCond(sel celast.SelectExpr) (*Cond, error) {
	op := sel.Operand()
	if op.Kind() != celast.IdentKind {
		return nil, notPortable("reads %s of a computed value (growth, scales)", sel.FieldName())
	}
	field := sel.FieldName()
	switch op.AsIdent() {
	case "answers":
		if sel.IsTestOnly() {
			return &Cond{Op: OpAnswered, Item: field}, nil
		}
		return &Cond{Op: OpAnswer, Item: field}, nil
	case "declined":
		return &Cond{Op: OpDeclined, Item: field}, nil
	case "params":
		v, ok := in.params[field]
		if !ok {
			return nil, notPortable("unknown parameter %s", field)
		}
		return &Cond{Op: OpLit, Value: v}, nil
	}
	return nil, notPortable("reads %s.%s, which only the server has", op.AsIdent(), field)
}

func (in *Instrument) callCond(call celast.CallExpr) (*Cond, error) {
	fn := call.FunctionName()
	args := call.Args()
	if fn == operators.LogicalNot && len(args) == 1 {
		a, err := in.toCond(args[0])
		if err != nil {
			return nil, err
		}
		return &Cond{Op: OpNot, Args: []*Cond{a}}, nil
	}
	if op, ok := binaryOps[fn]; ok && len(args) == 2 {
		l, err := in.toCond(args[0])
		if err != nil {
			return nil, err
		}
		r, err := in.toCond(args[1])
		if err != nil {
			return nil, err
		}
		if op == OpIn && r.Op != OpList {
			return nil, notPortable("'in' needs a list of literals")
		}
		return &Cond{Op: op, Args: []*Cond{l, r}}, nil
	}
	// answers.?x.orValue(default): an optional select with a default.
	if fn == "orValue" && call.IsMemberFunction() && len(args) == 1 {
		target := call.Target()
		if target.Kind() == celast.CallKind && target.AsCall().FunctionName() == operators.OptSelect {
			opt := target.AsCall().Args()
			if len(opt) == 2 && opt[0].Kind() == celast.IdentKind && opt[0].AsIdent() == "answers" &&
				opt[1].Kind() == celast.LiteralKind {
				item, ok := opt[1].AsLiteral().(types.String)
				def, err := in.toCond(args[0])
				if ok && err == nil && def.Op == OpLit {
					return &Cond{Op: OpAnswerOr, Item: string(item), Value: def.Value}, nil
				}
			}
		}
	}
	return nil, notPortable("uses %s", fn)
}

func literalValue(v any) (any, error) {
	switch x := v.(type) {
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return float64(x), nil
	case types.Uint:
		return float64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	}
	return nil, notPortable("literal of type %T", v)
}

// errCondNoValue is an absent answer read without a default.
var errCondNoValue = errors.New("no value")

// Holds evaluates the condition over answers (as decoded from JSON, see
// [Answers]) and the set of declined items, as CEL would: an absent answer
// read without a default makes the result false. It is the reference the
// form script and the ODK rewrite are tested against.
func (c *Cond) Holds(a Answers, declined map[string]bool) bool {
	v, err := c.eval(a, declined)
	if err != nil {
		return false
	}
	b, _ := v.(bool)
	return b
}

func (c *Cond) eval(a Answers, declined map[string]bool) (any, error) {
	arg := func(i int) (any, error) { return c.Args[i].eval(a, declined) }
	switch c.Op {
	case OpLit:
		return c.Value, nil
	case OpAnswer:
		v, ok := a[c.Item]
		if !ok || v == nil || v == any(Declined) {
			return nil, errCondNoValue
		}
		return normalise(v), nil
	case OpAnswerOr:
		v, ok := a[c.Item]
		if !ok || v == nil || v == any(Declined) {
			return c.Value, nil
		}
		return normalise(v), nil
	case OpAnswered:
		v, ok := a[c.Item]
		return ok && v != nil && v != any(Declined), nil
	case OpDeclined:
		return declined[c.Item], nil
	case OpNot:
		v, err := arg(0)
		if err != nil {
			return nil, err
		}
		b, _ := v.(bool)
		return !b, nil
	case OpAnd, OpOr:
		// CEL's && and || are commutative over errors: false && error is
		// false, true || error is true.
		l, lerr := arg(0)
		r, rerr := arg(1)
		short := c.Op == OpOr
		if lerr == nil && l == short || rerr == nil && r == short {
			return short, nil
		}
		if lerr != nil {
			return nil, lerr
		}
		if rerr != nil {
			return nil, rerr
		}
		return !short, nil
	case OpIn:
		v, err := arg(0)
		if err != nil {
			return nil, err
		}
		for _, el := range c.Args[1].Args {
			if equalValues(v, el.Value) {
				return true, nil
			}
		}
		return false, nil
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		l, err := arg(0)
		if err != nil {
			return nil, err
		}
		r, err := arg(1)
		if err != nil {
			return nil, err
		}
		return compareValues(c.Op, l, r), nil
	}
	return nil, fmt.Errorf("unknown op %q", c.Op)
}

func normalise(v any) any {
	if f, ok := toFloat(v); ok {
		return f
	}
	return v
}

func equalValues(l, r any) bool { return normalise(l) == normalise(r) }

func compareValues(op Op, l, r any) bool {
	switch op {
	case OpEq:
		return equalValues(l, r)
	case OpNe:
		return !equalValues(l, r)
	}
	lf, lok := normalise(l).(float64)
	rf, rok := normalise(r).(float64)
	if lok && rok {
		switch op {
		case OpLt:
			return lf < rf
		case OpLe:
			return lf <= rf
		case OpGt:
			return lf > rf
		case OpGe:
			return lf >= rf
		}
	}
	ls, lok := l.(string)
	rs, rok := r.(string)
	if lok && rok {
		switch op {
		case OpLt:
			return ls < rs
		case OpLe:
			return ls <= rs
		case OpGt:
			return ls > rs
		case OpGe:
			return ls >= rs
		}
	}
	return false
}
