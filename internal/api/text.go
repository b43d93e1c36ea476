package api

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
)

// maxHiddenErrors bounds the fields hiddenTextFields reports.
const maxHiddenErrors = 10

// hiddenInText reports characters free text must not carry: control
// characters other than tab and line breaks (NUL, ANSI escapes) and the
// invisible format characters that hide or reorder text (zero-width
// spaces and joiners, bidirectional controls, the byte-order mark). Such
// characters in a reason or a name would mislead whoever reads the audit
// log or a message.
func hiddenInText(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// hiddenTextFields walks a decoded request body and names the fields (as
// the JSON names them, e.g. "plans[0].note", "answers.note") whose text
// holds hidden characters, at most maxHiddenErrors of them.
func hiddenTextFields(v any) []string {
	var out []string
	walkText(reflect.ValueOf(v), "", &out)
	return out
}

func walkText(v reflect.Value, path string, out *[]string) {
	if len(*out) >= maxHiddenErrors || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, out)
		}
	case reflect.String:
		if hiddenInText(v.String()) {
			*out = append(*out, orBody(path))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				walkText(v.Field(i), path, out)
				continue
			}
			walkText(v.Field(i), join(path, name), out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkText(v.Index(i), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			if k.Kind() == reflect.String && hiddenInText(k.String()) {
				*out = append(*out, orBody(path))
				continue
			}
			walkText(v.MapIndex(k), join(path, k.String()), out)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orBody(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// maxReasonHeader bounds X-Khula-Reason, the why of an audit entry.
const maxReasonHeader = 500

// checkReasonHeader refuses (422) a request whose X-Khula-Reason, which
// goes into the audit log as the access's why, holds control or invisible
// characters (a zero-width space, a right-to-left override) or is longer
// than maxReasonHeader: an audit entry must read as what it says.
func checkReasonHeader() gin.HandlerFunc {
	return func(c *gin.Context) {
		why := c.GetHeader("X-Khula-Reason")
		if why != "" && (hiddenInText(why) || len(why) > maxReasonHeader) {
			var fe fieldErrors
			fe.add("X-Khula-Reason", "invalid", "X-Khula-Reason must be at most %d characters, with no control or invisible characters", maxReasonHeader)
			fe.reject(c, "request")
			c.Abort()
			return
		}
		c.Next()
	}
}
