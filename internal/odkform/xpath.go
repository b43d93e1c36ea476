package odkform

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/khula-cop/khula/internal/instrument"
)

// The skip logic of an item (show_if) arrives as an [instrument.Cond] and
// leaves as an XLSForm relevant expression. CEL and XPath differ on absent
// answers: in CEL reading an unanswered item makes the whole condition "no
// value" (false for skip logic), while && and || ignore a "no value" side
// when the other side decides. In XPath an unanswered field is '' (and
// number('') is NaN). The translation therefore computes, for every
// condition, two XPath booleans: T (the condition holds) and F (it is
// false); "no value" is neither. not swaps them; a and b has T = T1 and T2,
// F = F1 or F2; a or b the converse; a comparison holds only when each
// answer it reads is given. The relevant expression is T.

// xkind is the kind of an XPath node.
type xkind int

const (
	xRef    xkind = iota // ${name} (a string)
	xNumber              // number(${name})
	xStr                 // 'literal'
	xNum                 // numeric literal
	xTrue                // true()
	xFalse               // false()
	xCmp                 // args[0] op args[1]
	xAnd                 // args joined with and
	xOr                  // args joined with or
	xIf                  // if(args[0], args[1], args[2])
)

// xp is an XPath expression of the forms the translation writes.
type xp struct {
	kind xkind
	name string  // xRef, xNumber
	str  string  // xStr
	num  float64 // xNum
	op   string  // xCmp: = != < <= > >=
	args []*xp
}

var (
	xpTrue  = &xp{kind: xTrue}
	xpFalse = &xp{kind: xFalse}
)

func ref(name string) *xp          { return &xp{kind: xRef, name: name} }
func numberOf(name string) *xp     { return &xp{kind: xNumber, name: name} }
func str(s string) *xp             { return &xp{kind: xStr, str: s} }
func num(f float64) *xp            { return &xp{kind: xNum, num: f} }
func cmp(op string, l, r *xp) *xp  { return &xp{kind: xCmp, op: op, args: []*xp{l, r}} }
func ifThen(c, then, els *xp) *xp  { return &xp{kind: xIf, args: []*xp{c, then, els}} }
func and(args ...*xp) *xp          { return junction(xAnd, args) }
func or(args ...*xp) *xp           { return junction(xOr, args) }
func eqStr(name, value string) *xp { return cmp("=", ref(name), str(value)) }
func neStr(name, value string) *xp { return cmp("!=", ref(name), str(value)) }
func yesNo(b bool) string          { return map[bool]string{true: "yes", false: "no"}[b] }
func negate(op string) string      { return negated[op] }
func (x *xp) String() string       { var b strings.Builder; x.render(&b); return b.String() }
func (x *xp) isJunction() bool     { return x.kind == xAnd || x.kind == xOr }

var negated = map[string]string{"=": "!=", "!=": "=", "<": ">=", ">=": "<", "<=": ">", ">": "<="}

// junction joins args with and (xAnd) or or (xOr), flattening nested
// junctions of the same kind and folding true() and false().
func junction(k xkind, args []*xp) *xp {
	unit, zero := xTrue, xFalse // and: true() is neutral, false() absorbs
	if k == xOr {
		unit, zero = xFalse, xTrue
	}
	var out []*xp
	for _, a := range args {
		switch {
		case a == nil || a.kind == unit:
			continue
		case a.kind == zero:
			return &xp{kind: zero}
		case a.kind == k:
			out = append(out, a.args...)
		default:
			out = append(out, a)
		}
	}
	switch len(out) {
	case 0:
		return &xp{kind: unit}
	case 1:
		return out[0]
	}
	return &xp{kind: k, args: out}
}

// render writes the expression with XLSForm references (${name}).
func (x *xp) render(b *strings.Builder) {
	switch x.kind {
	case xRef:
		b.WriteString("${" + x.name + "}")
	case xNumber:
		b.WriteString("number(${" + x.name + "})")
	case xStr:
		b.WriteString(quote(x.str))
	case xNum:
		b.WriteString(formatNumber(x.num))
	case xTrue:
		b.WriteString("true()")
	case xFalse:
		b.WriteString("false()")
	case xCmp:
		x.args[0].render(b)
		b.WriteString(" " + x.op + " ")
		x.args[1].render(b)
	case xAnd, xOr:
		sep := " and "
		if x.kind == xOr {
			sep = " or "
		}
		for i, a := range x.args {
			if i > 0 {
				b.WriteString(sep)
			}
			if a.isJunction() {
				b.WriteString("(")
				a.render(b)
				b.WriteString(")")
			} else {
				a.render(b)
			}
		}
	case xIf:
		b.WriteString("if(")
		for i, a := range x.args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.render(b)
		}
		b.WriteString(")")
	}
}

// quote writes an XPath 1.0 string literal (which has no escapes).
func quote(s string) string {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'"
	case !strings.Contains(s, `"`):
		return `"` + s + `"`
	}
	parts := strings.Split(s, "'")
	for i, p := range parts {
		parts[i] = "'" + p + "'"
	}
	return "concat(" + strings.Join(parts, `, "'", `) + ")"
}

// formatNumber writes a number without a trailing .0 (2, 2.5, -1).
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// valueKind is the type of an answer as the condition compares it.
type valueKind int

const (
	kindNumber valueKind = iota + 1
	kindString
	kindBool // yes/no: compared as 'yes' and 'no'
	kindDate
)

func (k valueKind) String() string {
	switch k {
	case kindNumber:
		return "number"
	case kindString:
		return "code"
	case kindBool:
		return "yes/no"
	case kindDate:
		return "date"
	}
	return "unknown"
}

// fieldInfo is what the translation needs to know of an item.
type fieldInfo struct {
	kind       valueKind
	declinable bool
	// companion: a declinable number or date, whose decline is recorded in
	// the select <id>_declined (ODK cannot put "declined" into a number).
	companion bool
}

// CompanionSuffix names the yes/no field that records that a declinable
// number or date item was declined: <item id>_declined.
const CompanionSuffix = "_declined"

// DeclinedValue is the choice a declinable select item takes when the
// respondent declines it (instrument.Declined).
const DeclinedValue = instrument.Declined

// fieldOf describes an item for the translation.
func fieldOf(it instrument.Item) fieldInfo {
	f := fieldInfo{declinable: it.Declinable}
	switch it.Type {
	case instrument.TypeYesNo:
		f.kind = kindBool
	case instrument.TypeNumber, instrument.TypeMeasurement:
		f.kind = kindNumber
		f.companion = it.Declinable
	case instrument.TypeDate:
		f.kind = kindDate
		f.companion = it.Declinable
	case instrument.TypeChoice:
		f.kind = kindString
		if numericChoices(it.Choices) {
			f.kind = kindNumber
		}
	}
	return f
}

// numericChoices reports whether every choice value is a number.
func numericChoices(cs []instrument.Choice) bool {
	for _, c := range cs {
		if _, ok := c.Value.(float64); !ok {
			return false
		}
	}
	return len(cs) > 0
}

// translator rewrites conditions over the items it knows.
type translator struct {
	fields map[string]fieldInfo
}

func newTranslator(items []instrument.Item) *translator {
	t := &translator{fields: map[string]fieldInfo{}}
	for _, it := range items {
		t.fields[it.ID] = fieldOf(it)
	}
	return t
}

func (t *translator) field(id string) (fieldInfo, error) {
	f, ok := t.fields[id]
	if !ok {
		return fieldInfo{}, fmt.Errorf("the condition reads %q, which is not an item", id)
	}
	return f, nil
}

// given holds when the item is answered and not declined.
func (t *translator) given(id string, f fieldInfo) *xp {
	switch {
	case f.companion:
		return and(neStr(id+CompanionSuffix, "yes"), neStr(id, ""))
	case f.declinable:
		return and(neStr(id, ""), neStr(id, DeclinedValue))
	}
	return neStr(id, "")
}

// notGiven holds when the item is unanswered or declined.
func (t *translator) notGiven(id string, f fieldInfo) *xp {
	switch {
	case f.companion:
		return or(eqStr(id+CompanionSuffix, "yes"), eqStr(id, ""))
	case f.declinable:
		return or(eqStr(id, ""), eqStr(id, DeclinedValue))
	}
	return eqStr(id, "")
}

// declined holds when the respondent declined the item.
func (t *translator) declined(id string, f fieldInfo) (yes, no *xp) {
	switch {
	case f.companion:
		return eqStr(id+CompanionSuffix, "yes"), neStr(id+CompanionSuffix, "yes")
	case f.declinable:
		return eqStr(id, DeclinedValue), neStr(id, DeclinedValue)
	}
	return xpFalse, xpTrue
}

// relevant returns the XPath of a show_if: the expression that holds
// exactly when the condition does.
func (t *translator) relevant(c *instrument.Cond) (*xp, error) {
	if c == nil {
		return xpTrue, nil
	}
	holds, _, err := t.cond(c)
	return holds, err
}

// cond returns the expressions that hold when c is true and when c is
// false (neither holds when c has no value).
func (t *translator) cond(c *instrument.Cond) (holds, fails *xp, err error) {
	switch c.Op {
	case instrument.OpLit:
		b, ok := c.Value.(bool)
		if !ok {
			return nil, nil, fmt.Errorf("%v is not a condition", c.Value)
		}
		if b {
			return xpTrue, xpFalse, nil
		}
		return xpFalse, xpTrue, nil
	case instrument.OpAnswer, instrument.OpAnswerOr:
		f, err := t.field(c.Item)
		if err != nil {
			return nil, nil, err
		}
		if f.kind != kindBool {
			return nil, nil, fmt.Errorf("answers.%s is a %s, not a condition", c.Item, f.kind)
		}
		if c.Op == instrument.OpAnswer {
			// 'declined' and '' are neither yes nor no: no value.
			return eqStr(c.Item, "yes"), eqStr(c.Item, "no"), nil
		}
		def, ok := c.Value.(bool)
		if !ok {
			return nil, nil, fmt.Errorf("answers.%s is yes/no but its default %v is not", c.Item, c.Value)
		}
		if def {
			return neStr(c.Item, "no"), eqStr(c.Item, "no"), nil
		}
		return eqStr(c.Item, "yes"), neStr(c.Item, "yes"), nil
	case instrument.OpAnswered:
		f, err := t.field(c.Item)
		if err != nil {
			return nil, nil, err
		}
		return t.given(c.Item, f), t.notGiven(c.Item, f), nil
	case instrument.OpDeclined:
		f, err := t.field(c.Item)
		if err != nil {
			return nil, nil, err
		}
		yes, no := t.declined(c.Item, f)
		return yes, no, nil
	case instrument.OpNot:
		if len(c.Args) != 1 {
			return nil, nil, fmt.Errorf("not takes one argument")
		}
		h, f, err := t.cond(c.Args[0])
		return f, h, err
	case instrument.OpAnd, instrument.OpOr:
		if len(c.Args) != 2 {
			return nil, nil, fmt.Errorf("%s takes two arguments", c.Op)
		}
		h1, f1, err := t.cond(c.Args[0])
		if err != nil {
			return nil, nil, err
		}
		h2, f2, err := t.cond(c.Args[1])
		if err != nil {
			return nil, nil, err
		}
		if c.Op == instrument.OpAnd {
			return and(h1, h2), or(f1, f2), nil
		}
		return or(h1, h2), and(f1, f2), nil
	case instrument.OpEq, instrument.OpNe, instrument.OpLt, instrument.OpLe, instrument.OpGt, instrument.OpGe:
		return t.compare(c)
	case instrument.OpIn:
		return t.in(c)
	}
	return nil, nil, fmt.Errorf("operation %q cannot be written in XPath", c.Op)
}

// xval is a value a comparison reads.
type xval struct {
	v    *xp
	kind valueKind
	// given holds when the value exists (nil: always).
	given *xp
	// answer: the value is a plain answer read (op answer), so where it is
	// absent it reads '' (or NaN as a number), unless companion: the
	// number may keep a value while its companion says declined.
	answer, companion bool
	// lit is set for literals: the literal written as XPath compares it.
	lit *string
}

func (t *translator) value(c *instrument.Cond) (xval, error) {
	switch c.Op {
	case instrument.OpLit:
		return literal(c.Value)
	case instrument.OpAnswer, instrument.OpAnswerOr:
		f, err := t.field(c.Item)
		if err != nil {
			return xval{}, err
		}
		v := ref(c.Item)
		if f.kind == kindNumber {
			v = numberOf(c.Item)
		}
		if c.Op == instrument.OpAnswer {
			return xval{v: v, kind: f.kind, given: t.given(c.Item, f), answer: true, companion: f.companion}, nil
		}
		def, err := literal(c.Value)
		if err != nil {
			return xval{}, err
		}
		if def.kind != f.kind {
			return xval{}, fmt.Errorf("answers.%s is a %s but its default %v is not", c.Item, f.kind, c.Value)
		}
		if f.kind == kindString && !f.declinable && *def.lit == "" {
			// An unanswered code already reads ''.
			return xval{v: v, kind: f.kind}, nil
		}
		return xval{v: ifThen(t.notGiven(c.Item, f), def.v, v), kind: f.kind}, nil
	case instrument.OpList:
		return xval{}, fmt.Errorf("a list is only allowed after in")
	}
	// A condition used as a value (x == (y > 1)): yes or no where it has one.
	h, f, err := t.cond(c)
	if err != nil {
		return xval{}, err
	}
	return xval{v: ifThen(h, str("yes"), str("no")), kind: kindBool, given: or(h, f)}, nil
}

func literal(v any) (xval, error) {
	switch x := v.(type) {
	case bool:
		s := yesNo(x)
		return xval{v: str(s), kind: kindBool, lit: &s}, nil
	case float64:
		s := formatNumber(x)
		return xval{v: num(x), kind: kindNumber, lit: &s}, nil
	case string:
		return xval{v: str(x), kind: kindString, lit: &x}, nil
	}
	return xval{}, fmt.Errorf("literal %v of type %T cannot be written in XPath", v, v)
}

var cmpOps = map[instrument.Op]string{
	instrument.OpEq: "=", instrument.OpNe: "!=",
	instrument.OpLt: "<", instrument.OpLe: "<=", instrument.OpGt: ">", instrument.OpGe: ">=",
}

func (t *translator) compare(c *instrument.Cond) (holds, fails *xp, err error) {
	if len(c.Args) != 2 {
		return nil, nil, fmt.Errorf("%s takes two arguments", c.Op)
	}
	l, err := t.value(c.Args[0])
	if err != nil {
		return nil, nil, err
	}
	r, err := t.value(c.Args[1])
	if err != nil {
		return nil, nil, err
	}
	op := cmpOps[c.Op]
	if l.kind != r.kind {
		return nil, nil, fmt.Errorf("compares a %s with a %s", l.kind, r.kind)
	}
	if op != "=" && op != "!=" && l.kind != kindNumber {
		// XPath 1.0 compares only numbers with < and >.
		return nil, nil, fmt.Errorf("orders %s values with %s, which XPath cannot do", l.kind, op)
	}
	given := and(l.given, r.given)
	holds = cmp(op, l.v, r.v)
	if !selfGuarded(op, l, r) || !selfGuarded(op, r, l) {
		holds = and(given, holds)
	}
	return holds, and(given, cmp(negate(op), l.v, r.v)), nil
}

// selfGuarded reports whether comparing v (op other) is already false
// where v has no value, so that the comparison needs no "is given" guard:
// an unanswered number reads NaN, which is not =, <, <=, > or >= anything;
// an unanswered or declined code reads ” or 'declined', which differs from
// any other literal.
func selfGuarded(op string, v, other xval) bool {
	switch {
	case v.given == nil:
		return true
	case !v.answer || v.companion || op == "!=":
		return false
	case v.kind == kindNumber:
		return true
	}
	return op == "=" && other.lit != nil && *other.lit != "" && *other.lit != DeclinedValue
}

func (t *translator) in(c *instrument.Cond) (holds, fails *xp, err error) {
	if len(c.Args) != 2 || c.Args[1].Op != instrument.OpList {
		return nil, nil, fmt.Errorf("in needs a value and a list")
	}
	v, err := t.value(c.Args[0])
	if err != nil {
		return nil, nil, err
	}
	var anyOf, none []*xp
	guarded := true
	for _, el := range c.Args[1].Args {
		lit, err := t.value(el)
		if err != nil {
			return nil, nil, err
		}
		if lit.lit == nil {
			return nil, nil, fmt.Errorf("in needs a list of literals")
		}
		if lit.kind != v.kind {
			return nil, nil, fmt.Errorf("looks for a %s in a list holding a %s", v.kind, lit.kind)
		}
		anyOf = append(anyOf, cmp("=", v.v, lit.v))
		none = append(none, cmp("!=", v.v, lit.v))
		guarded = guarded && selfGuarded("=", v, lit)
	}
	holds = or(anyOf...)
	if !guarded {
		holds = and(v.given, holds)
	}
	return holds, and(v.given, and(none...)), nil
}

// Relevant translates a show_if condition into an XLSForm relevant
// expression (with ${item} references) over the given items; "" when c is
// nil. It is exported for tests and tools; [Build] uses it for every item.
func Relevant(c *instrument.Cond, items []instrument.Item) (string, error) {
	if c == nil {
		return "", nil
	}
	x, err := newTranslator(items).relevant(c)
	if err != nil {
		return "", err
	}
	return x.String(), nil
}
