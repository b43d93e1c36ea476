package instrument

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// CostLimit bounds the runtime cost of evaluating one rule, red flag or
// show_if condition (CEL's cost units: roughly one per operation). The
// shipped rules cost tens of units; the limit stops a careless comprehension
// in a site's variant from stalling scoring.
const CostLimit = 10_000

// Names of the record types rules see. They are not constructible in
// expressions; they only describe the variables.
const (
	typeAnswers = "khula.Answers"
	typeParams  = "khula.Params"
	typeScale   = "khula.Scale"
	typeZ       = "khula.ZScore"
	typeGrowth  = "khula.Growth"
	typeChild   = "khula.Child"
	// typeDeclined has one bool per declinable item: true when declined.
	typeDeclined = "khula.Declined"
)

// errNoValue is returned when an expression reads an answer (or another
// field) that is absent. Skip logic treats it as "condition false".
var errNoValue = errors.New("no value")

// record is a typed set of named values: the answers, parameters, one
// scale's result, one z-score. Field values are CEL-ready Go values (int64,
// float64, string, bool, time.Time or *record); an absent field is absent.
type record struct {
	typ    *types.Type
	fields map[string]any
}

func newRecord(typeName string, fields map[string]any) *record {
	return &record{typ: types.NewObjectType(typeName), fields: fields}
}

// ConvertToNative implements ref.Val.
func (r *record) ConvertToNative(t reflect.Type) (any, error) {
	return nil, fmt.Errorf("%s cannot be converted to %v", r.typ.TypeName(), t)
}

// ConvertToType implements ref.Val.
func (r *record) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return r.typ
	}
	return types.NewErr("%s cannot be converted to %s", r.typ.TypeName(), t.TypeName())
}

// Equal implements ref.Val: records are equal when they hold equal fields.
func (r *record) Equal(other ref.Val) ref.Val {
	o, ok := other.(*record)
	if !ok || o.typ.TypeName() != r.typ.TypeName() || len(o.fields) != len(r.fields) {
		return types.False
	}
	for k, v := range r.fields {
		ov, ok := o.fields[k]
		if !ok {
			return types.False
		}
		if types.DefaultTypeAdapter.NativeToValue(v).Equal(types.DefaultTypeAdapter.NativeToValue(ov)) != types.True {
			return types.False
		}
	}
	return types.True
}

// Type implements ref.Val.
func (r *record) Type() ref.Type { return r.typ }

// Value implements ref.Val; field qualifiers receive the field map.
func (r *record) Value() any { return r.fields }

// provider declares the record types to the CEL checker and interpreter:
// the checker learns each field's type (so answers.sdq01 is an int, and an
// unknown item is a compile error), the interpreter reads fields from the
// record's map.
type provider struct {
	*types.Registry
	structs map[string]map[string]*types.Type
}

func newProvider() (*provider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("creating CEL type registry: %w", err)
	}
	scale := map[string]*types.Type{
		"score": types.DoubleType, "band": types.StringType,
		"computed": types.BoolType, "prorated": types.BoolType,
	}
	z := map[string]*types.Type{
		"z": types.DoubleType, "computed": types.BoolType,
		"flagged": types.BoolType, "usable": types.BoolType,
	}
	zt := types.NewObjectType(typeZ)
	return &provider{
		Registry: reg,
		structs: map[string]map[string]*types.Type{
			typeAnswers:  {},
			typeParams:   {},
			typeScale:    scale,
			typeZ:        z,
			typeGrowth:   {"hfa": zt, "wfa": zt, "bfa": zt},
			typeChild:    {"age_months": types.DoubleType, "sex": types.StringType},
			typeDeclined: {},
		},
	}, nil
}

// FindStructType implements types.Provider.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.structs[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if fields, ok := p.structs[name]; ok {
		return sortedKeys(fields), true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	fields, ok := p.structs[name]
	if !ok {
		return p.Registry.FindStructFieldType(name, field)
	}
	t, ok := fields[field]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: t,
		IsSet: func(obj any) bool {
			m, ok := obj.(map[string]any)
			if !ok {
				return false
			}
			_, ok = m[field]
			return ok
		},
		GetFrom: func(obj any) (any, error) {
			m, ok := obj.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: %s.%s", errNoValue, name, field)
			}
			v, ok := m[field]
			if !ok {
				return nil, fmt.Errorf("%w: %s has no %s", errNoValue, shortType(name), field)
			}
			return v, nil
		},
	}, true
}

// NewValue implements types.Provider: records cannot be built in expressions.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.structs[name]; ok {
		return types.NewErr("%s cannot be constructed in an expression", name)
	}
	return p.Registry.NewValue(name, fields)
}

func shortType(name string) string {
	switch name {
	case typeAnswers:
		return "answers"
	case typeParams:
		return "params"
	case typeChild:
		return "child"
	case typeDeclined:
		return "declined"
	}
	return strings.TrimPrefix(name, "khula.")
}

// celType is the CEL type rules see for an item's answer.
func celType(it *Item) *types.Type {
	switch it.Type {
	case TypeYesNo:
		return types.BoolType
	case TypeDate:
		return types.TimestampType
	case TypeNumber:
		if it.Integer {
			return types.IntType
		}
		return types.DoubleType
	case TypeMeasurement:
		return types.DoubleType
	case TypeChoice:
		switch choiceKind(it.Choices) {
		case "int":
			return types.IntType
		case "double":
			return types.DoubleType
		}
		return types.StringType
	}
	return types.DynType
}

// choiceKind is "int" when every value is a whole number, "double" when all
// are numbers, "string" when all are strings and "mixed" otherwise.
func choiceKind(cs []Choice) string {
	nums, strs, whole := 0, 0, true
	for _, c := range cs {
		switch v := c.Value.(type) {
		case float64:
			nums++
			if !isWhole(v) {
				whole = false
			}
		case string:
			strs++
		default:
			return "mixed" // a missing value, reported by the schema
		}
	}
	switch {
	case nums > 0 && strs == 0 && whole:
		return "int"
	case nums > 0 && strs == 0:
		return "double"
	case strs > 0 && nums == 0:
		return "string"
	}
	return "mixed"
}

// celEnvs holds the two environments of an instrument: show_if conditions
// see answers and params; rules and red flags see everything, including
// declined (one bool per declinable item).
type celEnvs struct {
	rules  *cel.Env
	showIf *cel.Env
}

func newEnvs(items []*Item, params []string) (*celEnvs, error) {
	prov, err := newProvider()
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		prov.structs[typeAnswers][it.ID] = celType(it)
		if it.Declinable {
			prov.structs[typeDeclined][it.ID] = types.BoolType
		}
	}
	for _, p := range params {
		prov.structs[typeParams][p] = types.DoubleType
	}
	common := []cel.EnvOption{
		cel.CustomTypeProvider(prov),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(64),
		cel.ParserExpressionSizeLimit(4000),
		cel.Variable("answers", cel.ObjectType(typeAnswers)),
		cel.Variable("params", cel.ObjectType(typeParams)),
	}
	showIf, err := cel.NewEnv(common...)
	if err != nil {
		return nil, fmt.Errorf("creating CEL environment: %w", err)
	}
	rules, err := cel.NewEnv(append(common,
		cel.Variable("scales", cel.MapType(cel.StringType, cel.ObjectType(typeScale))),
		cel.Variable("growth", cel.ObjectType(typeGrowth)),
		cel.Variable("child", cel.ObjectType(typeChild)),
		cel.Variable("assessed_on", cel.TimestampType),
		cel.Variable("declined", cel.ObjectType(typeDeclined)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("creating CEL environment: %w", err)
	}
	return &celEnvs{rules: rules, showIf: showIf}, nil
}

// program is a compiled condition and where it came from.
type program struct {
	prg  cel.Program
	src  Expr
	what string // e.g. "domain_rules.health[2]"
	ast  *celast.AST
}

// compile type-checks a condition; it must return bool. Problems are
// reported at the file line of the offending part of the expression.
func compile(env *cel.Env, e Expr, what string, ps *problems) (*program, *celast.AST) {
	ast, iss := env.Compile(e.Src)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			line, col := 1, 0
			if ce.Location != nil {
				line, col = ce.Location.Line(), ce.Location.Column()
			}
			ps.add(Pos{File: e.File, Line: e.lineOf(line)}, "%s: CEL error at column %d: %s", what, col+1, ce.Message)
		}
		return nil, nil
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		ps.add(e.Pos, "%s: condition must be a bool, but it is %s", what, ast.OutputType())
		return nil, nil
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		ps.add(e.Pos, "%s: %v", what, err)
		return nil, nil
	}
	return &program{prg: prg, src: e, what: what, ast: ast.NativeRep()}, ast.NativeRep()
}

// eval runs a condition. A missing value read without has() gives
// (false, errNoValue-wrapped error); callers decide what that means.
func (p *program) eval(act interpreter.Activation) (bool, error) {
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p.what, err)
	}
	if e, ok := out.(*types.Err); ok {
		return false, fmt.Errorf("%s: %w", p.what, e)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%s: result is %s, not bool", p.what, out.Type().TypeName())
	}
	return bool(b), nil
}

// answerRefs lists the items an expression reads (answers.x, has(answers.x),
// answers.?x), and where.
func answerRefs(a *celast.AST) []string {
	var refs []string
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "answers" {
				refs = append(refs, sel.FieldName())
			}
		case celast.CallKind:
			call := e.AsCall()
			if call.FunctionName() == "_?._" && len(call.Args()) == 2 {
				op, field := call.Args()[0], call.Args()[1]
				if op.Kind() == celast.IdentKind && op.AsIdent() == "answers" && field.Kind() == celast.LiteralKind {
					if s, ok := field.AsLiteral().(types.String); ok {
						refs = append(refs, string(s))
					}
				}
			}
		}
	}))
	return refs
}

// scaleRef is a literal use of scales['id'] and, when compared with a
// literal band name, that name.
type scaleRef struct {
	id    string
	bands []string
}

// scaleRefs finds scales['id'] (and scales[?'id']) with literal ids, and
// the band names compared with scales['id'].band, so typos fail the load.
func scaleRefs(a *celast.AST) []scaleRef {
	var refs []scaleRef
	indexID := func(e celast.Expr) (string, bool) {
		if e.Kind() != celast.CallKind {
			return "", false
		}
		call := e.AsCall()
		if (call.FunctionName() != "_[_]" && call.FunctionName() != "_[?_]") || len(call.Args()) != 2 {
			return "", false
		}
		m, k := call.Args()[0], call.Args()[1]
		if m.Kind() != celast.IdentKind || m.AsIdent() != "scales" || k.Kind() != celast.LiteralKind {
			return "", false
		}
		s, ok := k.AsLiteral().(types.String)
		return string(s), ok
	}
	bandOf := func(e celast.Expr) (string, bool) {
		if e.Kind() != celast.SelectKind || e.AsSelect().FieldName() != "band" {
			return "", false
		}
		return indexID(e.AsSelect().Operand())
	}
	literal := func(e celast.Expr) (string, bool) {
		if e.Kind() != celast.LiteralKind {
			return "", false
		}
		s, ok := e.AsLiteral().(types.String)
		return string(s), ok
	}
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if id, ok := indexID(e); ok {
			refs = append(refs, scaleRef{id: id})
		}
		if e.Kind() != celast.CallKind {
			return
		}
		call := e.AsCall()
		args := call.Args()
		if len(args) != 2 {
			return
		}
		switch call.FunctionName() {
		case "_==_", "_!=_":
			for _, pair := range [][2]celast.Expr{{args[0], args[1]}, {args[1], args[0]}} {
				if id, ok := bandOf(pair[0]); ok {
					if name, ok := literal(pair[1]); ok {
						refs = append(refs, scaleRef{id: id, bands: []string{name}})
					}
				}
			}
		case "@in":
			id, ok := bandOf(args[0])
			if !ok || args[1].Kind() != celast.ListKind {
				return
			}
			r := scaleRef{id: id}
			for _, el := range args[1].AsList().Elements() {
				if name, ok := literal(el); ok {
					r.bands = append(r.bands, name)
				}
			}
			refs = append(refs, r)
		}
	}))
	return refs
}

// activation binds the variables rules see.
func activation(vars map[string]any) (interpreter.Activation, error) {
	act, err := interpreter.NewActivation(vars)
	if err != nil {
		return nil, fmt.Errorf("binding CEL variables: %w", err)
	}
	return act, nil
}

// timeValue converts a parsed date for CEL.
func timeValue(t time.Time) any { return types.Timestamp{Time: t} }
