package odkform

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

// condItems are items of every kind a condition can read.
var condItems = []instrument.Item{
	{ID: "yn", Type: instrument.TypeYesNo},
	{ID: "yd", Type: instrument.TypeYesNo, Declinable: true},
	{ID: "n", Type: instrument.TypeNumber},
	{ID: "nd", Type: instrument.TypeNumber, Integer: true, Declinable: true},
	{ID: "c", Type: instrument.TypeChoice, Choices: codes("a", "b", "refer")},
	{ID: "c2", Type: instrument.TypeChoice, Choices: codes("a", "b", "refer")},
	{ID: "cd", Type: instrument.TypeChoice, Declinable: true, Choices: codes("a", "b")},
	{ID: "cn", Type: instrument.TypeChoice, Choices: numbers(0, 1, 2.5)},
	{ID: "cnd", Type: instrument.TypeChoice, Declinable: true, Choices: numbers(0, 1, 2, 3)},
	{ID: "dt", Type: instrument.TypeDate},
}

func codes(vs ...string) []instrument.Choice {
	var out []instrument.Choice
	for _, v := range vs {
		out = append(out, instrument.Choice{Value: v})
	}
	return out
}

func numbers(vs ...float64) []instrument.Choice {
	var out []instrument.Choice
	for _, v := range vs {
		out = append(out, instrument.Choice{Value: v})
	}
	return out
}

// Shorthands for conditions.
func answer(id string) *instrument.Cond { return &instrument.Cond{Op: instrument.OpAnswer, Item: id} }
func answerOr(id string, def any) *instrument.Cond {
	return &instrument.Cond{Op: instrument.OpAnswerOr, Item: id, Value: def}
}
func answered(id string) *instrument.Cond {
	return &instrument.Cond{Op: instrument.OpAnswered, Item: id}
}
func declined(id string) *instrument.Cond {
	return &instrument.Cond{Op: instrument.OpDeclined, Item: id}
}
func lit(v any) *instrument.Cond { return &instrument.Cond{Op: instrument.OpLit, Value: v} }
func not(c *instrument.Cond) *instrument.Cond {
	return &instrument.Cond{Op: instrument.OpNot, Args: []*instrument.Cond{c}}
}
func op(o instrument.Op, l, r *instrument.Cond) *instrument.Cond {
	return &instrument.Cond{Op: o, Args: []*instrument.Cond{l, r}}
}
func in(v *instrument.Cond, vals ...any) *instrument.Cond {
	l := &instrument.Cond{Op: instrument.OpList}
	for _, x := range vals {
		l.Args = append(l.Args, lit(x))
	}
	return op(instrument.OpIn, v, l)
}

func TestRelevantTranslatesEveryOp(t *testing.T) {
	const (
		and = instrument.OpAnd
		or  = instrument.OpOr
		eq  = instrument.OpEq
		ne  = instrument.OpNe
		lt  = instrument.OpLt
		le  = instrument.OpLe
		gt  = instrument.OpGt
		ge  = instrument.OpGe
	)
	tests := []struct {
		name string
		cond *instrument.Cond
		want string
	}{
		{"nil is always shown", nil, ""},
		{"literal true", lit(true), "true()"},
		{"literal false", lit(false), "false()"},
		{"yes/no answer", answer("yn"), "${yn} = 'yes'"},
		{"not yes/no answer", not(answer("yn")), "${yn} = 'no'"},
		{"declinable yes/no answer", answer("yd"), "${yd} = 'yes'"},
		{"yes/no with default true", answerOr("yn", true), "${yn} != 'no'"},
		{"not yes/no with default true", not(answerOr("yn", true)), "${yn} = 'no'"},
		{"yes/no with default false", answerOr("yn", false), "${yn} = 'yes'"},
		{"not yes/no with default false", not(answerOr("yn", false)), "${yn} != 'yes'"},
		{"yes/no == false", op(eq, answer("yn"), lit(false)), "${yn} = 'no'"},
		{"yes/no default == false", op(eq, answerOr("yn", true), lit(false)), "if(${yn} = '', 'yes', ${yn}) = 'no'"},
		{"declinable yes/no default == true", op(eq, answerOr("yd", false), lit(true)),
			"if(${yd} = '' or ${yd} = 'declined', 'no', ${yd}) = 'yes'"},
		{"code eq", op(eq, answer("c"), lit("refer")), "${c} = 'refer'"},
		{"code ne needs the answer", op(ne, answer("c"), lit("refer")), "${c} != '' and ${c} != 'refer'"},
		{"not code eq", not(op(eq, answer("c"), lit("refer"))), "${c} != '' and ${c} != 'refer'"},
		{"not code ne", not(op(ne, answer("c"), lit("refer"))), "${c} != '' and ${c} = 'refer'"},
		{"code eq empty string", op(eq, answer("c"), lit("")), "${c} != '' and ${c} = ''"},
		{"two answers", op(eq, answer("c"), answer("c2")), "${c} != '' and ${c2} != '' and ${c} = ${c2}"},
		{"code with default ''", op(eq, answerOr("c", ""), lit("refer")), "${c} = 'refer'"},
		{"code with default", op(ne, answerOr("c", "a"), lit("refer")), "if(${c} = '', 'a', ${c}) != 'refer'"},
		{"declinable code eq", op(eq, answer("cd"), lit("a")), "${cd} = 'a'"},
		{"declinable code ne", op(ne, answer("cd"), lit("a")), "${cd} != '' and ${cd} != 'declined' and ${cd} != 'a'"},
		{"number lt", op(lt, answer("n"), lit(3.0)), "number(${n}) < 3"},
		{"number le", op(le, answer("n"), lit(2.5)), "number(${n}) <= 2.5"},
		{"number gt negative", op(gt, answer("n"), lit(-1.0)), "number(${n}) > -1"},
		{"number ge", op(ge, answer("n"), lit(3.0)), "number(${n}) >= 3"},
		{"number ne", op(ne, answer("n"), lit(3.0)), "${n} != '' and number(${n}) != 3"},
		{"not number gt", not(op(gt, answer("n"), lit(3.0))), "${n} != '' and number(${n}) <= 3"},
		{"not number lt", not(op(lt, answer("n"), lit(3.0))), "${n} != '' and number(${n}) >= 3"},
		{"literal on the left", op(lt, lit(10.0), answer("n")), "10 < number(${n})"},
		{"number with default (answer_or)", op(gt, answerOr("n", 0.0), lit(10.0)), "if(${n} = '', 0, number(${n})) > 10"},
		{"declinable numeric choice with default", op(gt, answerOr("cnd", 0.0), lit(0.0)),
			"if(${cnd} = '' or ${cnd} = 'declined', 0, number(${cnd})) > 0"},
		{"declinable numeric choice", op(gt, answer("cnd"), lit(0.0)), "number(${cnd}) > 0"},
		{"declinable number (companion)", op(eq, answer("nd"), lit(5.0)),
			"${nd_declined} != 'yes' and ${nd} != '' and number(${nd}) = 5"},
		{"declinable number with default", op(ge, answerOr("nd", 1.0), lit(2.0)),
			"if(${nd_declined} = 'yes' or ${nd} = '', 1, number(${nd})) >= 2"},
		{"in codes", in(answer("c"), "a", "b"), "${c} = 'a' or ${c} = 'b'"},
		{"in codes with default ''", in(answerOr("c", ""), "a", "b"), "${c} = 'a' or ${c} = 'b'"},
		{"not in codes", not(in(answer("c"), "a", "b")), "${c} != '' and ${c} != 'a' and ${c} != 'b'"},
		{"in declinable codes with default", in(answerOr("cd", ""), "a"), "if(${cd} = '' or ${cd} = 'declined', '', ${cd}) = 'a'"},
		{"in numbers", in(answer("cn"), 1.0, 2.5), "number(${cn}) = 1 or number(${cn}) = 2.5"},
		{"in a list holding ''", in(answer("c"), "", "a"), "${c} != '' and (${c} = '' or ${c} = 'a')"},
		{"in an empty list", in(answer("c")), "false()"},
		{"answered", answered("c"), "${c} != ''"},
		{"not answered", not(answered("c")), "${c} = ''"},
		{"answered declinable code", answered("cd"), "${cd} != '' and ${cd} != 'declined'"},
		{"not answered declinable code", not(answered("cd")), "${cd} = '' or ${cd} = 'declined'"},
		{"answered declinable number", answered("nd"), "${nd_declined} != 'yes' and ${nd} != ''"},
		{"answered date", answered("dt"), "${dt} != ''"},
		{"declined code", declined("cd"), "${cd} = 'declined'"},
		{"not declined code", not(declined("cd")), "${cd} != 'declined'"},
		{"declined yes/no", declined("yd"), "${yd} = 'declined'"},
		{"declined number", declined("nd"), "${nd_declined} = 'yes'"},
		{"not declined number", not(declined("nd")), "${nd_declined} != 'yes'"},
		{"declined of an item that cannot be declined", declined("c"), "false()"},
		{"and", op(and, answer("yn"), op(eq, answer("c"), lit("a"))), "${yn} = 'yes' and ${c} = 'a'"},
		{"or", op(or, answer("yn"), op(eq, answer("c"), lit("a"))), "${yn} = 'yes' or ${c} = 'a'"},
		{"nested and/or", op(and, answer("yn"), op(or, op(ge, answerOr("n", 0.0), lit(2.0)), not(answered("c")))),
			"${yn} = 'yes' and (if(${n} = '', 0, number(${n})) >= 2 or ${c} = '')"},
		{"not and", not(op(and, op(gt, answer("n"), lit(1.0)), op(eq, answer("c"), lit("x")))),
			"(${n} != '' and number(${n}) <= 1) or (${c} != '' and ${c} != 'x')"},
		{"not or", not(op(or, answer("yn"), op(eq, answer("c"), lit("x")))),
			"${yn} = 'no' and ${c} != '' and ${c} != 'x'"},
		{"not not", not(not(answer("yn"))), "${yn} = 'yes'"},
		{"and with a constant", op(and, lit(true), answer("yn")), "${yn} = 'yes'"},
		{"or with a constant", op(or, lit(true), answer("yn")), "true()"},
		{"condition compared with a bool", op(eq, op(gt, answer("n"), lit(1.0)), lit(false)),
			"(number(${n}) > 1 or (${n} != '' and number(${n}) <= 1)) and if(number(${n}) > 1, 'yes', 'no') = 'no'"},
		{"quote in a code", op(eq, answer("c"), lit("it's")), `${c} = "it's"`},
		{"both quotes in a code", op(eq, answer("c"), lit(`it's "x"`)), `${c} = concat('it', "'", 's "x"')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Relevant(tt.cond, condItems)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRelevantRefusesWhatXPathCannotSay(t *testing.T) {
	for name, c := range map[string]*instrument.Cond{
		"number as a condition":  answer("n"),
		"code as a condition":    answerOr("c", "a"),
		"number literal":         lit(1.0),
		"ordering codes":         op(instrument.OpLt, answer("c"), lit("b")),
		"code against a number":  op(instrument.OpEq, answer("c"), lit(1.0)),
		"yes/no against a code":  op(instrument.OpEq, answer("yn"), lit("yes")),
		"unknown item":           answer("nope"),
		"wrong default":          answerOr("n", "x"),
		"list outside in":        op(instrument.OpEq, answer("c"), &instrument.Cond{Op: instrument.OpList}),
		"in without a list":      op(instrument.OpIn, answer("c"), lit("a")),
		"unknown op":             {Op: "matches"},
		"date compared":          op(instrument.OpEq, answer("dt"), lit("2020-01-01")),
		"in with a wrong kind":   in(answer("c"), 1.0),
		"yes/no default missing": answerOr("yn", nil),
	} {
		if got, err := Relevant(c, condItems); err == nil {
			t.Errorf("%s: got %q, want an error", name, got)
		}
	}
}

// TestRelevantAgreesWithCond checks the translation against the
// instrument's own evaluation of conditions ([instrument.Cond.Holds], the
// reference CEL is tested against) over random conditions and answers,
// evaluating the XPath with XPath 1.0's rules (number(”) is NaN, ” is
// false, and so on). A declined number keeps a stale value half the time,
// as a non-relevant field may.
func TestRelevantAgreesWithCond(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tr := newTranslator(condItems)
	for i := range 20000 {
		c := randomCond(rng, 3)
		holds, fails, err := tr.cond(c)
		if err != nil {
			t.Fatalf("%s: %v", condString(c), err)
		}
		for range 5 {
			a, dec, env := randomAnswers(rng)
			want := c.Holds(a, dec)
			wantFalse := (&instrument.Cond{Op: instrument.OpNot, Args: []*instrument.Cond{c}}).Holds(a, dec)
			if got := truthy(evalXP(holds, env)); got != want {
				t.Fatalf("case %d: %s over %v (declined %v)\nXPath %s over %v is %v, want %v", i, condString(c), a, dec, holds, env, got, want)
			}
			if got := truthy(evalXP(fails, env)); got != wantFalse {
				t.Fatalf("case %d: not %s over %v (declined %v)\nXPath %s over %v is %v, want %v", i, condString(c), a, dec, fails, env, got, wantFalse)
			}
		}
	}
}

func condString(c *instrument.Cond) string {
	switch c.Op {
	case instrument.OpLit:
		return strconv.Quote(ChoiceName(c.Value))
	case instrument.OpAnswer, instrument.OpAnswered, instrument.OpDeclined:
		return string(c.Op) + "(" + c.Item + ")"
	case instrument.OpAnswerOr:
		return "answer_or(" + c.Item + ", " + ChoiceName(c.Value) + ")"
	}
	var parts []string
	for _, a := range c.Args {
		parts = append(parts, condString(a))
	}
	return string(c.Op) + "(" + strings.Join(parts, ", ") + ")"
}

// randomCond makes a condition over condItems that type-checks.
func randomCond(rng *rand.Rand, depth int) *instrument.Cond {
	pick := func(ids ...string) string { return ids[rng.IntN(len(ids))] }
	k := rng.IntN(9)
	if depth == 0 {
		k = 3 + rng.IntN(6)
	}
	switch k {
	case 0:
		return not(randomCond(rng, depth-1))
	case 1:
		return op(instrument.OpAnd, randomCond(rng, depth-1), randomCond(rng, depth-1))
	case 2:
		return op(instrument.OpOr, randomCond(rng, depth-1), randomCond(rng, depth-1))
	case 3:
		id := pick("yn", "yd")
		if rng.IntN(2) == 0 {
			return answer(id)
		}
		return answerOr(id, rng.IntN(2) == 0)
	case 4:
		return answered(pick("yn", "yd", "n", "nd", "c", "cd", "cn", "cnd", "dt"))
	case 5:
		return declined(pick("yd", "nd", "cd", "cnd", "c"))
	case 6: // numbers
		ops := []instrument.Op{instrument.OpEq, instrument.OpNe, instrument.OpLt, instrument.OpLe, instrument.OpGt, instrument.OpGe}
		return op(ops[rng.IntN(len(ops))], randomValue(rng, "num"), randomValue(rng, "num"))
	case 7: // codes and yes/no
		ops := []instrument.Op{instrument.OpEq, instrument.OpNe}
		kind := pick("code", "bool")
		return op(ops[rng.IntN(2)], randomValue(rng, kind), randomValue(rng, kind))
	}
	kind := pick("code", "num")
	var vals []any
	for range rng.IntN(4) {
		if kind == "num" {
			vals = append(vals, float64(rng.IntN(4)))
		} else {
			vals = append(vals, pick("", "a", "b", "declined"))
		}
	}
	return in(randomValue(rng, kind), vals...)
}

func randomValue(rng *rand.Rand, kind string) *instrument.Cond {
	pick := func(ids ...string) string { return ids[rng.IntN(len(ids))] }
	switch kind {
	case "num":
		switch rng.IntN(3) {
		case 0:
			return lit(float64(rng.IntN(5)) - 1)
		case 1:
			return answer(pick("n", "nd", "cn", "cnd"))
		}
		return answerOr(pick("n", "nd", "cn", "cnd"), float64(rng.IntN(3)))
	case "code":
		switch rng.IntN(3) {
		case 0:
			return lit(pick("", "a", "b", "declined"))
		case 1:
			return answer(pick("c", "c2", "cd"))
		}
		return answerOr(pick("c", "c2", "cd"), pick("", "a"))
	}
	switch rng.IntN(4) {
	case 0:
		return lit(rng.IntN(2) == 0)
	case 1:
		return answer(pick("yn", "yd"))
	case 2:
		return answerOr(pick("yn", "yd"), rng.IntN(2) == 0)
	}
	return op(instrument.OpGt, answer("n"), lit(1.0)) // a condition as a value
}

// randomAnswers answers condItems at random: the answers and declined set
// as the instrument sees them, and the fields as ODK holds them.
func randomAnswers(rng *rand.Rand) (instrument.Answers, map[string]bool, map[string]string) {
	a := instrument.Answers{}
	dec := map[string]bool{}
	env := map[string]string{}
	for _, it := range condItems {
		f := fieldOf(it)
		state := rng.IntN(3) // 0 absent, 1 answered, 2 declined
		if state == 2 && !it.Declinable {
			state = 1
		}
		switch state {
		case 0:
			env[it.ID] = ""
			if f.companion && rng.IntN(2) == 0 {
				env[it.ID+CompanionSuffix] = "no"
			}
			continue
		case 2:
			a[it.ID] = instrument.Declined
			dec[it.ID] = true
			if f.companion {
				env[it.ID+CompanionSuffix] = "yes"
				env[it.ID] = ""
				if rng.IntN(2) == 0 {
					env[it.ID] = "4" // a stale value in the skipped number
				}
			} else {
				env[it.ID] = DeclinedValue
			}
			continue
		}
		if f.companion && rng.IntN(2) == 0 {
			env[it.ID+CompanionSuffix] = "no"
		}
		switch it.Type {
		case instrument.TypeYesNo:
			b := rng.IntN(2) == 0
			a[it.ID], env[it.ID] = b, yesNo(b)
		case instrument.TypeNumber:
			v := float64(rng.IntN(5)) - 1
			a[it.ID], env[it.ID] = v, formatNumber(v)
		case instrument.TypeDate:
			a[it.ID], env[it.ID] = "2020-01-02", "2020-01-02"
		case instrument.TypeChoice:
			c := it.Choices[rng.IntN(len(it.Choices))]
			a[it.ID], env[it.ID] = c.Value, ChoiceName(c.Value)
		}
	}
	return a, dec, env
}

// evalXP evaluates an expression as XPath 1.0 does, fields read from env.
func evalXP(x *xp, env map[string]string) any {
	switch x.kind {
	case xRef:
		return env[x.name]
	case xNumber:
		return toNumber(env[x.name])
	case xStr:
		return x.str
	case xNum:
		return x.num
	case xTrue:
		return true
	case xFalse:
		return false
	case xAnd:
		for _, a := range x.args {
			if !truthy(evalXP(a, env)) {
				return false
			}
		}
		return true
	case xOr:
		for _, a := range x.args {
			if truthy(evalXP(a, env)) {
				return true
			}
		}
		return false
	case xIf:
		if truthy(evalXP(x.args[0], env)) {
			return evalXP(x.args[1], env)
		}
		return evalXP(x.args[2], env)
	case xCmp:
		l, r := evalXP(x.args[0], env), evalXP(x.args[1], env)
		_, lb := l.(bool)
		_, rb := r.(bool)
		_, ln := l.(float64)
		_, rn := r.(float64)
		switch {
		case (x.op == "=" || x.op == "!=") && (lb || rb):
			return (truthy(l) == truthy(r)) == (x.op == "=")
		case (x.op == "=" || x.op == "!=") && !ln && !rn:
			return (l.(string) == r.(string)) == (x.op == "=")
		}
		a, b := toNumber(l), toNumber(r)
		switch x.op {
		case "=":
			return a == b
		case "!=":
			return a != b
		case "<":
			return a < b
		case "<=":
			return a <= b
		case ">":
			return a > b
		case ">=":
			return a >= b
		}
	}
	panic("unknown node")
}

func toNumber(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return false
}
